using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using ModelBridge.Errors;
using ModelBridge.Ir;

namespace ModelBridge.Profiles;

/// <summary>Strict reader of the profile JSON format: every key is known, every value has the right kind.</summary>
internal static class ProfileReader
{
    /// <summary>Top-level keys; <c>name</c>, <c>description</c>, <c>sources</c>, <c>tolerance</c> and <c>ops</c> are required.</summary>
    internal static readonly FrozenSet<string> TopLevelKeys =
        FrozenSet.ToFrozenSet(["$schema", "name", "description", "sources", "tolerance", "defaults", "ops", "unsupportedOps", "fallback"], StringComparer.Ordinal);

    /// <summary>Keys of the <c>fallback</c> entry; <c>cpu</c> and <c>sources</c> are required.</summary>
    internal static readonly FrozenSet<string> FallbackKeys = FrozenSet.ToFrozenSet(
        ["cpu", "sources", "partitioning", "stopOps", "rejectSingleNodePartitions", "rejectConstantOnlyPartitions", "boundaryTypes"], StringComparer.Ordinal);

    internal static readonly string[] RequiredTopLevelKeys = ["name", "description", "sources", "tolerance", "ops"];

    /// <summary>Every constraint key an op entry (or <c>defaults</c>) may hold.</summary>
    internal static readonly FrozenSet<string> ConstraintKeys = FrozenSet.ToFrozenSet(
    [
        "minOpset", "maxOpset", "constantInputs", "inputRank", "inputRanks", "spatialDims", "kernelSize", "groupPolicy",
        "dilationsOn", "symmetricPads", "autoPad", "resizeModes", "coordinateTransformationModes", "nearestModes", "axes",
        "dataTypes", "staticShapes", "maxRank", "clipBounds", "attributes", "note",
    ], StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, DataType> TypeNames =
        Enum.GetValues<DataType>().Where(t => t != DataType.Undefined).ToFrozenDictionary(DataTypes.OnnxName, t => t, StringComparer.Ordinal);

    public static TargetProfile Read(Stream stream, string origin)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            return ThrowHelper.InvalidProfile<TargetProfile>(origin, null, $"not valid JSON: {ex.Message}");
        }
        using (doc)
        {
            var r = new Reader(origin);
            return r.Profile(doc.RootElement);
        }
    }

    private sealed class Reader(string origin)
    {
        public TargetProfile Profile(JsonElement root)
        {
            Expect(root, JsonValueKind.Object, "(root)", "an object");
            CheckKeys(root, TopLevelKeys, null, "top-level key");
            foreach (string required in RequiredTopLevelKeys)
            {
                if (!root.TryGetProperty(required, out _))
                {
                    ThrowHelper.InvalidProfile(origin, required, "required key is missing.");
                }
            }
            string name = String(root.GetProperty("name"), "name");
            string description = String(root.GetProperty("description"), "description");
            List<ProfileSource> sources = Sources(root.GetProperty("sources"), "sources");
            JsonElement tol = root.GetProperty("tolerance");
            Expect(tol, JsonValueKind.Object, "tolerance", "an object {rtol, atol}");
            CheckKeys(tol, ["rtol", "atol", "note"], "tolerance", "tolerance key");
            var tolerance = new TargetTolerance(
                NonNegative(Required(tol, "rtol", "tolerance"), "tolerance.rtol"),
                NonNegative(Required(tol, "atol", "tolerance"), "tolerance.atol"));
            if (tol.TryGetProperty("note", out JsonElement tn))
            {
                String(tn, "tolerance.note");
            }
            OpConstraints defaults = root.TryGetProperty("defaults", out JsonElement d) ? Constraints(d, "defaults") : new OpConstraints();
            JsonElement opsElement = root.GetProperty("ops");
            Expect(opsElement, JsonValueKind.Object, "ops", "an object keyed by operator type");
            var ops = new Dictionary<string, OpConstraints>(StringComparer.Ordinal);
            foreach (JsonProperty op in opsElement.EnumerateObject())
            {
                ops[op.Name] = Constraints(op.Value, $"ops.{op.Name}");
            }
            var unsupported = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("unsupportedOps", out JsonElement u))
            {
                Expect(u, JsonValueKind.Object, "unsupportedOps", "an object of operator → reason");
                foreach (JsonProperty op in u.EnumerateObject())
                {
                    if (ops.ContainsKey(op.Name))
                    {
                        ThrowHelper.InvalidProfile(origin, $"unsupportedOps.{op.Name}", "the operator is also listed under 'ops'.");
                    }
                    unsupported[op.Name] = String(op.Value, $"unsupportedOps.{op.Name}");
                }
            }
            CpuFallback fallback = root.TryGetProperty("fallback", out JsonElement fb) ? Fallback(fb) : CpuFallback.Undeclared;
            return new TargetProfile(name, description, sources, tolerance, defaults, ops.ToFrozenDictionary(StringComparer.Ordinal),
                unsupported.ToFrozenDictionary(StringComparer.Ordinal), fallback, origin);
        }

        private List<ProfileSource> Sources(JsonElement src, string path)
        {
            Expect(src, JsonValueKind.Array, path, "an array of {title, url, facts}");
            var sources = new List<ProfileSource>();
            int i = 0;
            foreach (JsonElement s in src.EnumerateArray())
            {
                string key = $"{path}[{i++}]";
                Expect(s, JsonValueKind.Object, key, "an object");
                CheckKeys(s, ["title", "url", "facts"], key, "source key");
                sources.Add(new ProfileSource(
                    String(Required(s, "title", key), key + ".title"),
                    String(Required(s, "url", key), key + ".url"),
                    s.TryGetProperty("facts", out JsonElement f) ? String(f, key + ".facts") : null));
            }
            if (sources.Count == 0)
            {
                ThrowHelper.InvalidProfile(origin, path, "at least one source is required.");
            }
            return sources;
        }

        private CpuFallback Fallback(JsonElement e)
        {
            Expect(e, JsonValueKind.Object, "fallback", "an object {cpu, sources, ...}");
            CheckKeys(e, FallbackKeys, "fallback", "fallback key");
            var fallback = new CpuFallback
            {
                Declared = true,
                Enabled = Bool(Required(e, "cpu", "fallback"), "fallback.cpu"),
                Sources = Sources(Required(e, "sources", "fallback"), "fallback.sources"),
            };
            foreach (JsonProperty p in e.EnumerateObject())
            {
                string key = $"fallback.{p.Name}";
                if (p.Name is not ("cpu" or "sources") && !fallback.Enabled)
                {
                    // Partition rules describe how a runtime splits a graph with the CPU; without a fallback there is no split.
                    ThrowHelper.InvalidProfile(origin, key, "partition rules need \"cpu\": true.");
                }
                fallback = p.Name switch
                {
                    "partitioning" => fallback with { Partitioning = Enum<PartitionKind>(p.Value, key) },
                    "stopOps" => fallback with { StopOps = Strings(p.Value, key) },
                    "rejectSingleNodePartitions" => fallback with { RejectedSingleNodePartitions = Strings(p.Value, key) },
                    "rejectConstantOnlyPartitions" => fallback with { RejectConstantOnlyPartitions = Bool(p.Value, key) },
                    "boundaryTypes" => fallback with { BoundaryTypes = [.. Strings(p.Value, key).Select(s => Type(s, key))] },
                    _ => fallback,
                };
            }
            return fallback;
        }

        private DataType Type(string s, string key) => TypeNames.TryGetValue(s, out DataType t)
            ? t
            : ThrowHelper.InvalidProfile<DataType>(origin, key, $"unknown data type '{s}'; use ONNX names such as float, float16, uint8, int64.");

        private OpConstraints Constraints(JsonElement e, string path)
        {
            Expect(e, JsonValueKind.Object, path, "an object of constraints");
            CheckKeys(e, ConstraintKeys, path, "constraint");
            var c = new OpConstraints();
            foreach (JsonProperty p in e.EnumerateObject())
            {
                string key = $"{path}.{p.Name}";
                JsonElement v = p.Value;
                c = p.Name switch
                {
                    "minOpset" => c with { MinOpset = Integer(v, key, min: 1) },
                    "maxOpset" => c with { MaxOpset = Integer(v, key, min: 1) },
                    "constantInputs" => c with { ConstantInputs = Integers(v, key, min: 0) },
                    "inputRank" => c with { InputRank = Range(v, key) },
                    "inputRanks" => c with { InputRanks = Integers(v, key, min: 0) },
                    "spatialDims" => c with { SpatialDims = Integers(v, key, min: 1) },
                    "kernelSize" => c with { KernelSize = Range(v, key) },
                    "groupPolicy" => c with { GroupPolicy = Enum<GroupPolicy>(v, key) },
                    "dilationsOn" => c with { DilationsOn = [.. Strings(v, key).Select(s => Parse<ConvKind>(s, key))] },
                    "symmetricPads" => c with { SymmetricPads = Bool(v, key) },
                    "autoPad" => c with { AutoPad = OneOf(Strings(v, key), key, "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID") },
                    "resizeModes" => c with { ResizeModes = OneOf(Strings(v, key), key, "nearest", "linear", "cubic") },
                    "coordinateTransformationModes" => c with { CoordinateTransformationModes = StringLists(v, key) },
                    "nearestModes" => c with { NearestModes = OneOf(Strings(v, key), key, "round_prefer_floor", "round_prefer_ceil", "floor", "ceil") },
                    "axes" => c with { Axes = Axes(v, key) },
                    "dataTypes" => c with { DataTypes = [.. Strings(v, key).Select(s => Type(s, key))] },
                    "staticShapes" => c with { StaticShapes = Bool(v, key) },
                    "maxRank" => c with { MaxRank = (int)Integer(v, key, min: 0) },
                    "clipBounds" => c with { ClipBounds = Bounds(v, key) },
                    "attributes" => c with { Attributes = StringLists(v, key) },
                    "note" => c with { Note = String(v, key) },
                    _ => throw new System.Diagnostics.UnreachableException(p.Name),
                };
            }
            return c;
        }

        private void CheckKeys(JsonElement e, IEnumerable<string> allowed, string? path, string what)
        {
            var set = allowed as IReadOnlySet<string> ?? allowed.ToHashSet(StringComparer.Ordinal);
            foreach (JsonProperty p in e.EnumerateObject())
            {
                if (!set.Contains(p.Name))
                {
                    string key = path is null ? p.Name : $"{path}.{p.Name}";
                    ThrowHelper.InvalidProfile(origin, key, $"unknown {what} '{p.Name}'. Allowed: {string.Join(", ", set.Order(StringComparer.Ordinal))}.");
                }
            }
        }

        private JsonElement Required(JsonElement e, string name, string path) =>
            e.TryGetProperty(name, out JsonElement v) ? v : ThrowHelper.InvalidProfile<JsonElement>(origin, $"{path}.{name}", "required key is missing.");

        private void Expect(JsonElement e, JsonValueKind kind, string key, string what)
        {
            if (e.ValueKind != kind)
            {
                ThrowHelper.InvalidProfile(origin, key, $"expected {what}, found {e.ValueKind}.");
            }
        }

        private string String(JsonElement e, string key)
        {
            Expect(e, JsonValueKind.String, key, "a string");
            return e.GetString()!;
        }

        private bool Bool(JsonElement e, string key) => e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => ThrowHelper.InvalidProfile<bool>(origin, key, $"expected true or false, found {e.ValueKind}."),
        };

        private long Integer(JsonElement e, string key, long min)
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < min)
            {
                ThrowHelper.InvalidProfile(origin, key, $"expected an integer >= {min}.");
            }
            return e.GetInt64();
        }

        private double NonNegative(JsonElement e, string key)
        {
            if (e.ValueKind != JsonValueKind.Number || e.GetDouble() is var v && (v < 0 || double.IsNaN(v)))
            {
                return ThrowHelper.InvalidProfile<double>(origin, key, "expected a non-negative number.");
            }
            return v;
        }

        private int[] Integers(JsonElement e, string key, long min)
        {
            Expect(e, JsonValueKind.Array, key, "an array of integers");
            return [.. e.EnumerateArray().Select((x, i) => (int)Integer(x, $"{key}[{i}]", min))];
        }

        private string[] Strings(JsonElement e, string key)
        {
            Expect(e, JsonValueKind.Array, key, "an array of strings");
            return [.. e.EnumerateArray().Select((x, i) => String(x, $"{key}[{i}]"))];
        }

        private string[] OneOf(string[] values, string key, params string[] allowed)
        {
            foreach (string v in values)
            {
                if (!allowed.Contains(v, StringComparer.Ordinal))
                {
                    ThrowHelper.InvalidProfile(origin, key, $"unknown value '{v}'. Allowed: {string.Join(", ", allowed)}.");
                }
            }
            return values;
        }

        private IntRange Range(JsonElement e, string key)
        {
            Expect(e, JsonValueKind.Object, key, "an object {min, max}");
            CheckKeys(e, ["min", "max"], key, "range key");
            long? min = e.TryGetProperty("min", out JsonElement a) ? Integer(a, key + ".min", 0) : null;
            long? max = e.TryGetProperty("max", out JsonElement b) ? Integer(b, key + ".max", 0) : null;
            if (min > max)
            {
                ThrowHelper.InvalidProfile(origin, key, $"min {min} is larger than max {max}.");
            }
            return new IntRange(min, max);
        }

        private IReadOnlyDictionary<string, IReadOnlyList<string>> StringLists(JsonElement e, string key)
        {
            Expect(e, JsonValueKind.Object, key, "an object of name → array of values");
            var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (JsonProperty p in e.EnumerateObject())
            {
                string k = $"{key}.{p.Name}";
                Expect(p.Value, JsonValueKind.Array, k, "an array of values");
                result[p.Name] = [.. p.Value.EnumerateArray().Select((x, i) => x.ValueKind switch
                {
                    JsonValueKind.String => x.GetString()!,
                    JsonValueKind.Number => x.GetRawText(),
                    _ => ThrowHelper.InvalidProfile<string>(origin, $"{k}[{i}]", $"expected a string or number, found {x.ValueKind}."),
                })];
            }
            return result.ToFrozenDictionary(StringComparer.Ordinal);
        }

        private string[] Axes(JsonElement e, string key)
        {
            Expect(e, JsonValueKind.Array, key, "an array of axes (integers, \"last\" or \"channel\")");
            return [.. e.EnumerateArray().Select((x, i) => x.ValueKind switch
            {
                JsonValueKind.Number when x.TryGetInt64(out long a) => a.ToString(CultureInfo.InvariantCulture),
                JsonValueKind.String when x.GetString() is "last" or "channel" => x.GetString()!,
                _ => ThrowHelper.InvalidProfile<string>(origin, $"{key}[{i}]", "expected an integer axis, \"last\" or \"channel\"."),
            })];
        }

        private (double, double)[] Bounds(JsonElement e, string key)
        {
            Expect(e, JsonValueKind.Array, key, "an array of [min, max] pairs");
            return [.. e.EnumerateArray().Select((x, i) =>
            {
                if (x.ValueKind != JsonValueKind.Array || x.GetArrayLength() != 2 || x.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.Number))
                {
                    return ThrowHelper.InvalidProfile<(double, double)>(origin, $"{key}[{i}]", "expected a [min, max] pair of numbers.");
                }
                return (x[0].GetDouble(), x[1].GetDouble());
            })];
        }

        private T Enum<T>(JsonElement e, string key) where T : struct, System.Enum => Parse<T>(String(e, key), key);

        private T Parse<T>(string s, string key) where T : struct, System.Enum
        {
            string[] names = System.Enum.GetNames<T>();
            string? match = names.FirstOrDefault(n => string.Equals(JsonNamingPolicy.CamelCase.ConvertName(n), s, StringComparison.Ordinal));
            return match is not null
                ? System.Enum.Parse<T>(match)
                : ThrowHelper.InvalidProfile<T>(origin, key, $"unknown value '{s}'. Allowed: {string.Join(", ", names.Select(JsonNamingPolicy.CamelCase.ConvertName))}.");
        }
    }
}
