using System.Globalization;
using System.Text;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Profiles;

/// <summary>
/// For every constraint kind and every profile that uses it (the six built-ins plus a test profile for the
/// kinds no built-in uses): one hand-built node that passes that constraint and one that breaks it.
/// </summary>
[TestFixture]
public sealed class ConstraintMatrixTests
{
    /// <summary>A profile for the constraint kinds that no built-in profile uses.</summary>
    internal const string CustomProfileJson = """
        {
          "name": "custom-test",
          "description": "test profile",
          "sources": [{ "title": "unit test", "url": "about:blank" }],
          "tolerance": { "rtol": 0.001, "atol": 0.0001 },
          "ops": {
            "Conv": { "maxOpset": 17, "kernelSize": { "min": 1, "max": 5 }, "symmetricPads": true, "groupPolicy": "depthwiseMultiplier", "dilationsOn": ["depthwise"] },
            "Concat": { "axes": ["channel"], "maxRank": 4 }
          }
        }
        """;

    private static readonly string[] Kinds =
    [
        "minOpset", "maxOpset", "constantInputs", "inputRank", "inputRanks", "spatialDims", "kernelSize", "groupPolicy", "dilationsOn",
        "symmetricPads", "autoPad", "resizeModes", "coordinateTransformationModes", "nearestModes", "axes", "dataTypes", "staticShapes",
        "maxRank", "clipBounds", "attributes",
    ];

    internal static TargetProfile Custom() =>
        TargetProfile.Load(new MemoryStream(Encoding.UTF8.GetBytes(CustomProfileJson)), "custom-test.json");

    private static IEnumerable<TargetProfile> Profiles() => TargetProfile.BuiltInNames.Select(TargetProfile.BuiltIn).Append(Custom());

    private static TargetProfile ProfileByName(string name) => name == "custom-test" ? Custom() : TargetProfile.BuiltIn(name);

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (TargetProfile p in Profiles())
        {
            foreach (string kind in Kinds)
            {
                // Prefer the ops the constraint is about; then any op that carries it.
                string? op = p.Ops.Keys.Order(StringComparer.Ordinal)
                    .OrderBy(o => o is "Conv" or "Resize" or "Softmax" or "Clip" ? 0 : 1)
                    .FirstOrDefault(o => Applies(kind, o, p.Find("", o)!));
                if (op is null)
                {
                    continue;
                }
                foreach (bool pass in new[] { true, false })
                {
                    yield return new TestCaseData(p.Name, op, kind, pass)
                        .SetName($"{p.Name} {kind} on {op} {(pass ? "passes" : "fails")}");
                }
            }
        }
    }

    /// <summary>Whether the test can build a pass and a fail node for <paramref name="kind"/> on <paramref name="op"/>.</summary>
    private static bool Applies(string kind, string op, OpConstraints c) => kind switch
    {
        "minOpset" => c.MinOpset > 1,
        "maxOpset" => c.MaxOpset is not null,
        "constantInputs" => c.ConstantInputs is { Count: > 0 },
        "inputRank" => c.InputRank is not null,
        "inputRanks" => c.InputRanks is not null,
        "spatialDims" => c.SpatialDims is not null && op is "Conv" or "ConvTranspose" or "MaxPool" or "AveragePool",
        "kernelSize" => c.KernelSize is not null && op is "Conv",
        "groupPolicy" => c.GroupPolicy is not null and not GroupPolicy.Any && op == "Conv",
        "dilationsOn" => c.DilationsOn is { } d && (op == "Conv" ? d.Count < 3 : d.Count == 0 && op is "MaxPool" or "AveragePool"),
        "symmetricPads" => c.SymmetricPads == true,
        "autoPad" => c.AutoPad is { Count: < 4 },
        "resizeModes" => c.ResizeModes is { Count: < 3 },
        "coordinateTransformationModes" => c.CoordinateTransformationModes is { Count: > 0 },
        "nearestModes" => c.NearestModes is { Count: < 4 },
        "axes" => c.Axes is not null,
        "dataTypes" => c.DataTypes is not null,
        "staticShapes" => c.StaticShapes == true,
        "maxRank" => c.MaxRank is not null,
        "clipBounds" => c.ClipBounds is not null && op == "Clip",
        "attributes" => c.Attributes is { Count: > 0 },
        _ => false,
    };

    [TestCaseSource(nameof(Cases))]
    public void Constraint_is_checked(string profileName, string op, string kind, bool pass)
    {
        TargetProfile profile = ProfileByName(profileName);
        OpConstraints c = profile.Find("", op)!;
        using TinyGraph g = Build(op, c, kind, pass);
        ProfileReport report = ProfileChecker.Check(g.Graph, profile);
        NodeVerdict v = report.Find("node")!;
        var hits = v.Reasons.Where(r => r.Constraint == kind).ToList();
        if (pass)
        {
            Assert.That(hits, Is.Empty, () => $"unexpected: {string.Join("; ", hits)}");
            Assert.That(v.Unchecked, Does.Not.Contain(kind));
        }
        else
        {
            Assert.That(hits, Is.Not.Empty, () => $"expected a '{kind}' reason; got: {string.Join("; ", v.Reasons)} unchecked: {string.Join(",", v.Unchecked)}");
            Assert.That(hits[0].Message, Does.Contain(profile.Name));
            Assert.That(v.Supported, Is.False);
        }
    }

    /// <summary>Builds a one-node graph named "node" that passes (or breaks) <paramref name="kind"/>.</summary>
    private static TinyGraph Build(string op, OpConstraints c, string kind, bool pass)
    {
        long opset = 13;
        if (kind == "minOpset")
        {
            opset = pass ? c.MinOpset!.Value : c.MinOpset!.Value - 1;
        }
        else if (kind == "maxOpset")
        {
            opset = pass ? c.MaxOpset!.Value : c.MaxOpset!.Value + 1;
        }
        else if (c.MinOpset is long min)
        {
            opset = Math.Max(opset, min);
        }
        var g = new TinyGraph(opset);
        TensorType xType = TinyGraph.Float(1, 4, 8, 8);
        var attrs = new List<(string, object)>();
        long[] weight = [4, 4, 3, 3];
        long group = 1;

        switch (kind)
        {
            case "inputRank":
            {
                IntRange r = c.InputRank!;
                long rank = pass ? r.Min ?? r.Max ?? 4 : r.Max is long mx ? mx + 1 : r.Min!.Value - 1;
                xType = Shape(rank);
                break;
            }
            case "inputRanks":
                xType = Shape(pass ? c.InputRanks![0] : Enumerable.Range(1, 6).First(r => !c.InputRanks!.Contains(r)));
                break;
            case "spatialDims":
            {
                int s = pass ? c.SpatialDims![0] : Enumerable.Range(1, 4).First(d => !c.SpatialDims!.Contains(d));
                if (op is "Conv" or "ConvTranspose")
                {
                    weight = [4, 4, .. Enumerable.Repeat(3L, s)];
                }
                else
                {
                    attrs.Add(("kernel_shape", Enumerable.Repeat(2L, s).ToArray()));
                }
                xType = Shape(s + 2);
                break;
            }
            case "kernelSize":
            {
                IntRange r = c.KernelSize!;
                long k = pass ? r.Max ?? r.Min!.Value : r.Max is long mx ? mx + 1 : r.Min!.Value - 1;
                weight = [4, 4, k, k];
                break;
            }
            case "groupPolicy" when !pass:
                (xType, weight, group) = c.GroupPolicy switch
                {
                    GroupPolicy.Standard => (TinyGraph.Float(1, 4, 8, 8), new long[] { 4, 1, 3, 3 }, 4L),    // depthwise, multiplier 1
                    GroupPolicy.Depthwise => (TinyGraph.Float(1, 4, 8, 8), new long[] { 8, 1, 3, 3 }, 4L),   // depthwise, multiplier 2
                    _ => (TinyGraph.Float(1, 8, 8, 8), new long[] { 8, 4, 3, 3 }, 2L),                       // grouped, 4 channels per group
                };
                break;
            case "dilationsOn":
            {
                IReadOnlyList<ConvKind> kinds = c.DilationsOn!;
                ConvKind? kindToUse = pass ? (kinds.Count > 0 ? kinds[0] : null)
                    : kinds.Count == 0 ? ConvKind.Standard : Enum.GetValues<ConvKind>().First(k => !kinds.Contains(k));
                if (kindToUse is { } ck)
                {
                    attrs.Add(("dilations", new long[] { 2, 2 }));
                    (xType, weight, group) = ck switch
                    {
                        ConvKind.Depthwise => (TinyGraph.Float(1, 4, 8, 8), new long[] { 4, 1, 3, 3 }, 4L),
                        ConvKind.Grouped => (TinyGraph.Float(1, 8, 8, 8), new long[] { 8, 4, 3, 3 }, 2L),
                        _ => (xType, weight, 1L),
                    };
                }
                if (op != "Conv")
                {
                    attrs.Add(("kernel_shape", new long[] { 2, 2 }));
                }
                break;
            }
            case "symmetricPads":
                attrs.Add(("pads", pass ? new long[] { 1, 1, 1, 1 } : [0, 0, 1, 1]));
                break;
            case "autoPad":
                attrs.Add(("auto_pad", pass ? (c.AutoPad!.Contains("NOTSET") ? "NOTSET" : c.AutoPad![0])
                    : new[] { "SAME_LOWER", "SAME_UPPER", "VALID", "NOTSET" }.First(a => !c.AutoPad!.Contains(a))));
                break;
            case "resizeModes":
                attrs.Add(("mode", pass ? c.ResizeModes![0] : new[] { "nearest", "linear", "cubic" }.First(m => !c.ResizeModes!.Contains(m))));
                break;
            case "coordinateTransformationModes":
            {
                var (mode, allowed) = c.CoordinateTransformationModes!.First();
                attrs.Add(("mode", mode == "*" ? "linear" : mode));
                attrs.Add(("coordinate_transformation_mode", pass ? allowed[0]
                    : new[] { "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize" }.First(m => !allowed.Contains(m))));
                break;
            }
            case "nearestModes":
                attrs.Add(("mode", "nearest"));
                attrs.Add(("nearest_mode", pass ? c.NearestModes![0]
                    : new[] { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil" }.First(m => !c.NearestModes!.Contains(m))));
                break;
            case "axes":
            {
                static long Axis(string a) => a switch { "last" => 3, "channel" => 1, _ => long.Parse(a, CultureInfo.InvariantCulture) is var k && k < 0 ? k + 4 : k };
                long axis = pass ? Axis(c.Axes![0]) : Enumerable.Range(0, 4).Select(i => (long)i).First(i => c.Axes!.All(a => Axis(a) != i));
                attrs.Add(("axis", axis));
                break;
            }
            case "dataTypes":
            {
                DataType t = pass ? c.DataTypes![0] : new[] { DataType.Float, DataType.Int64, DataType.Int8, DataType.Double }.First(d => !c.DataTypes!.Contains(d));
                xType = new TensorType(t, TensorShape.Of(1, 4, 8, 8));
                break;
            }
            case "staticShapes" when !pass:
                xType = new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), 4, 8, 8]));
                break;
            case "maxRank":
                xType = Shape(pass ? Math.Min(4, c.MaxRank!.Value) : c.MaxRank!.Value + 1);
                break;
            case "attributes":
            {
                var (name, allowed) = c.Attributes!.First();
                bool numeric = allowed.All(a => long.TryParse(a, CultureInfo.InvariantCulture, out _));
                object value = numeric
                    ? (pass ? long.Parse(allowed[0], CultureInfo.InvariantCulture) : allowed.Max(a => long.Parse(a, CultureInfo.InvariantCulture)) + 1)
                    : (pass ? allowed[0] : "NOT_ALLOWED");
                attrs.Add((name, value));
                break;
            }
        }

        Value x = g.Input("x", xType);
        var inputs = new List<Value?> { x };
        if (op is "Conv" or "ConvTranspose")
        {
            inputs.Add(g.Weight("w", weight));
            inputs.Add(g.Weight("b", op == "Conv" ? weight[0] : weight[1] * group));
            if (group != 1)
            {
                attrs.Add(("group", group));
            }
        }
        else if (op == "Resize")
        {
            inputs.Add(null);
            inputs.Add(g.Floats("scales", 1, 1, 2, 2));
        }
        else if (op == "Clip")
        {
            (double lo, double hi) = kind == "clipBounds" && !pass ? (0, 5) : c.ClipBounds is { Count: > 0 } b ? b[0] : (0, 6);
            inputs.Add(g.Scalar("min", (float)lo));
            inputs.Add(g.Scalar("max", (float)hi));
        }
        else if (op is "Gemm" or "MatMul")
        {
            inputs.Add(g.Weight("B", 8, 3));
        }
        if (c.ConstantInputs is { Count: > 0 } constants)
        {
            int top = constants.Max();
            while (inputs.Count <= top)
            {
                inputs.Add(g.Weight($"c{inputs.Count}", 4));
            }
            if (kind == "constantInputs")
            {
                int slot = constants[0];
                inputs[slot] = pass ? inputs[slot] ?? g.Weight("k", 4) : g.Input("dynamic", TinyGraph.Float(4));
            }
        }
        TensorType outType = xType with { };
        g.Add(op, inputs, outType, "node", [.. attrs]);
        return g;
    }

    private static TensorType Shape(long rank) => TinyGraph.Float([.. Enumerable.Repeat(4L, (int)rank)]);
}
