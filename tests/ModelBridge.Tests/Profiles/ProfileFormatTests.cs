using System.Text;
using System.Text.Json;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Profiles;

/// <summary>The JSON format: built-ins match the schema's structure, unknown keys are rejected with file and key.</summary>
[TestFixture]
public sealed class ProfileFormatTests
{
    private static string SchemaPath => Path.Combine(TestPaths.RepoRoot, "schemas", "target-profile.schema.json");

    private static JsonElement Schema() => JsonDocument.Parse(File.ReadAllText(SchemaPath)).RootElement;

    private static IEnumerable<string> BuiltIns() => TargetProfile.BuiltInNames;

    [Test]
    public void The_six_built_in_profiles_are_embedded()
    {
        Assert.That(TargetProfile.BuiltInNames, Is.EqualTo(new[]
        {
            "ncnn", "ort-coreml-mlprogram", "ort-coreml-neuralnetwork", "ort-nnapi", "tflite-builtins", "xnnpack",
        }));
    }

    [TestCaseSource(nameof(BuiltIns))]
    public void Built_in_profile_matches_the_schema_structure(string name)
    {
        string path = Path.Combine(TestPaths.RepoRoot, "schemas", "targets", name + ".json");
        JsonElement schema = Schema();
        JsonElement doc = JsonDocument.Parse(File.ReadAllText(path)).RootElement;

        var topLevel = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        var required = schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToList();
        var constraintKeys = schema.GetProperty("$defs").GetProperty("opConstraints").GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Multiple(() =>
        {
            foreach (string r in required)
            {
                Assert.That(doc.TryGetProperty(r, out _), Is.True, $"{name}: required key '{r}'");
            }
            foreach (JsonProperty p in doc.EnumerateObject())
            {
                Assert.That(topLevel, Does.Contain(p.Name), $"{name}: top-level key");
            }
            foreach (JsonProperty op in doc.GetProperty("ops").EnumerateObject())
            {
                foreach (JsonProperty c in op.Value.EnumerateObject())
                {
                    Assert.That(constraintKeys, Does.Contain(c.Name), $"{name}: ops.{op.Name}.{c.Name}");
                }
            }
            Assert.That(doc.GetProperty("sources").GetArrayLength(), Is.GreaterThan(0));
            foreach (JsonElement s in doc.GetProperty("sources").EnumerateArray())
            {
                Assert.That(s.GetProperty("url").GetString(), Does.StartWith("https://"));
            }
        });

        TargetProfile loaded = TargetProfile.BuiltIn(name);
        Assert.That(loaded.Name, Is.EqualTo(name));
        Assert.That(loaded.Tolerance.Rtol, Is.GreaterThan(0));
        Assert.That(TargetProfile.Load(path).Ops.Keys, Is.EquivalentTo(loaded.Ops.Keys));
    }

    [Test]
    public void Schema_and_loader_know_the_same_keys()
    {
        JsonElement schema = Schema();
        Assert.That(schema.GetProperty("$defs").GetProperty("opConstraints").GetProperty("properties").EnumerateObject().Select(p => p.Name),
            Is.EquivalentTo(ProfileReader.ConstraintKeys));
        Assert.That(schema.GetProperty("properties").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(ProfileReader.TopLevelKeys));
        Assert.That(schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()), Is.EquivalentTo(ProfileReader.RequiredTopLevelKeys));
        Assert.That(schema.GetProperty("$schema").GetString(), Is.EqualTo("https://json-schema.org/draft/2020-12/schema"));
    }

    [TestCaseSource(nameof(BuiltIns))]
    public void Required_facts_of_the_brief(string name)
    {
        TargetProfile p = TargetProfile.BuiltIn(name);
        foreach (string op in new[] { "Conv", "Add", "Mul", "Concat", "Reshape", "Transpose", "Resize", "MaxPool", "AveragePool", "GlobalAveragePool" })
        {
            Assert.That(p.Ops.ContainsKey(op) || p.UnsupportedOps.ContainsKey(op) || name == "xnnpack" && op is "Concat" or "Reshape",
                Is.True, $"{name} says nothing about {op}");
        }
    }

    [Test]
    public void Nnapi_and_tflite_facts()
    {
        TargetProfile nnapi = TargetProfile.BuiltIn("ort-nnapi");
        foreach (string op in new[] { "InstanceNormalization", "GroupNormalization", "LayerNormalization", "Shape" })
        {
            Assert.That(nnapi.Find("", op), Is.Null, op);
        }
        OpConstraints conv = nnapi.Find("", "Conv")!;
        Assert.That(conv.ConstantInputs, Does.Contain(1));
        Assert.That(conv.SpatialDims, Is.EqualTo(new[] { 2 }));
        Assert.That(conv.DilationsOn, Does.Not.Contain(ConvKind.Grouped));

        TargetProfile tflite = TargetProfile.BuiltIn("tflite-builtins");
        Assert.That(tflite.Find("", "GroupNormalization"), Is.Null);
        Assert.That(tflite.Find("", "Conv")!.GroupPolicy, Is.EqualTo(GroupPolicy.Depthwise));
    }

    [Test]
    public void Unknown_constraint_is_an_error_naming_the_file_and_key()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string path = dir.File("typo.json");
        File.WriteAllText(path, ConstraintMatrixTests.CustomProfileJson.Replace("\"symmetricPads\"", "\"symetricPads\"", StringComparison.Ordinal));
        var ex = Assert.Throws<InvalidProfileException>(() => TargetProfile.Load(path))!;
        Assert.That(ex.ProfilePath, Is.EqualTo(Path.GetFullPath(path)));
        Assert.That(ex.Key, Is.EqualTo("ops.Conv.symetricPads"));
        Assert.That(ex.Message, Does.Contain(path).And.Contain("symetricPads"));
    }

    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"extra":1}""", "extra")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{}, "defaults":{"colour":1}}""", "defaults.colour")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{"Conv":{"groupPolicy":"some"}}}""", "ops.Conv.groupPolicy")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{"Conv":{"dataTypes":["flaot"]}}}""", "ops.Conv.dataTypes")]
    [TestCase("""{"name":"x","description":"d","sources":[],"tolerance":{"rtol":0,"atol":0},"ops":{}}""", "sources")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"ops":{}}""", "tolerance")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"fallback":{"cpu":true}}""", "fallback.sources")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"fallback":{"sources":[{"title":"t","url":"u"}]}}""", "fallback.cpu")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"fallback":{"cpu":true,"stopOp":[],"sources":[{"title":"t","url":"u"}]}}""", "fallback.stopOp")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"fallback":{"cpu":false,"stopOps":["NonMaxSuppression"],"sources":[{"title":"t","url":"u"}]}}""", "fallback.stopOps")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"fallback":{"cpu":true,"partitioning":"islands","sources":[{"title":"t","url":"u"}]}}""", "fallback.partitioning")]
    [TestCase("""{"name":"x","description":"d","sources":[{"title":"t","url":"u"}],"tolerance":{"rtol":0,"atol":0},"ops":{},"fallback":{"cpu":true,"boundaryTypes":["flaot"],"sources":[{"title":"t","url":"u"}]}}""", "fallback.boundaryTypes")]
    public void Malformed_profiles_are_rejected_with_the_key(string json, string key)
    {
        var ex = Assert.Throws<InvalidProfileException>(() => TargetProfile.Load(new MemoryStream(Encoding.UTF8.GetBytes(json)), "inline.json"))!;
        Assert.That(ex.Key, Is.EqualTo(key));
        Assert.That(ex.Message, Does.StartWith("inline.json: "));
    }

    [TestCase("ort-nnapi", true, PartitionKind.Subgraphs)]
    [TestCase("ort-coreml-neuralnetwork", true, PartitionKind.Subgraphs)]
    [TestCase("ort-coreml-mlprogram", true, PartitionKind.Subgraphs)]
    [TestCase("xnnpack", true, PartitionKind.Nodes)]
    [TestCase("tflite-builtins", false, PartitionKind.Subgraphs)]
    [TestCase("ncnn", false, PartitionKind.Subgraphs)]
    public void Every_built_in_declares_its_cpu_fallback_with_a_source(string name, bool cpu, PartitionKind kind)
    {
        CpuFallback f = TargetProfile.BuiltIn(name).Fallback;
        Assert.That((f.Declared, f.Enabled, f.Partitioning), Is.EqualTo((true, cpu, kind)));
        Assert.That(f.Sources, Is.Not.Empty);
        Assert.That(f.Sources.Select(s => s.Url), Is.All.StartWith("https://"));
    }

    [Test]
    public void The_execution_providers_partition_rules_are_read()
    {
        CpuFallback nnapi = TargetProfile.BuiltIn("ort-nnapi").Fallback;
        Assert.That(nnapi.StopOps, Is.EqualTo(new[] { "NonMaxSuppression" }));
        Assert.That(nnapi.RejectedSingleNodePartitions, Is.EqualTo(new[] { "Reshape", "Flatten", "Identity" }));
        Assert.That((nnapi.RejectConstantOnlyPartitions, nnapi.BoundaryTypes), Is.EqualTo((true, (IReadOnlyList<DataType>?)null)));
        CpuFallback coreml = TargetProfile.BuiltIn("ort-coreml-neuralnetwork").Fallback;
        Assert.That(coreml.BoundaryTypes, Is.EqualTo(new[] { DataType.Float, DataType.Float16, DataType.Int32, DataType.Int64 }));
        Assert.That((coreml.StopOps, coreml.RejectConstantOnlyPartitions), Is.EqualTo((Array.Empty<string>(), false)));
    }

    [Test]
    public void A_profile_without_fallback_is_treated_as_having_none()
    {
        TargetProfile p = TargetProfile.Load(new MemoryStream(Encoding.UTF8.GetBytes(ConstraintMatrixTests.CustomProfileJson)), "custom.json");
        Assert.That(p.Fallback, Is.SameAs(CpuFallback.Undeclared));
        Assert.That((p.Fallback.Declared, p.Fallback.Enabled), Is.EqualTo((false, false)));
    }

    [Test]
    public void Unknown_built_in_name_lists_the_built_ins()
    {
        var ex = Assert.Throws<ArgumentException>(() => TargetProfile.BuiltIn("nope"))!;
        Assert.That(ex.Message, Does.Contain("ort-nnapi"));
    }
}
