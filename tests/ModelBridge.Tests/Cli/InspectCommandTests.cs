using ModelBridge.Cli;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge inspect</c> through the real entry point.</summary>
[TestFixture]
[NonParallelizable]
public sealed class InspectCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string Fixture(string name) => CliHarness.Fixture(name);

    [Test]
    public void Inspect_prints_a_readable_summary_and_json()
    {
        var (code, output, _) = Run("inspect", Fixture("dynamic_batch"));
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("float[N,3,32,32]").And.Contain("Conv").And.Contain("dynamic shape"));
        var (code2, json, _) = Run("inspect", Fixture("dynamic_batch"), "--json", "--set-dim", "N=1");
        Assert.That(code2, Is.Zero);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.That(doc.RootElement.GetProperty("outputs")[0].GetProperty("type").GetString(), Is.EqualTo("float[1,10]"));
        Assert.That(doc.RootElement.GetProperty("opHistogram").GetProperty("Conv").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public void Inspect_json_is_exactly_one_document_on_stdout()
    {
        var (code, stdout, stderr) = Run("inspect", Fixture("retinanet_mbv2_gn_op13"), "--json");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using var doc = CliHarness.SingleJson(stdout);
        Assert.That(doc.RootElement.GetProperty("inputs")[0].GetProperty("type").GetString(), Is.EqualTo("float[1,3,128,128]"));
    }

    [Test]
    public void Input_shape_pins_the_symbols_of_that_input()
    {
        var (code, stdout, stderr) = Run("inspect", Fixture("dynamic_batch"), "--json", "--input-shape", "input=3,3,32,32");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using var doc = CliHarness.SingleJson(stdout);
        Assert.That(doc.RootElement.GetProperty("outputs")[0].GetProperty("type").GetString(), Is.EqualTo("float[3,10]"));
        Assert.That(doc.RootElement.GetProperty("unknownShapes").GetArrayLength(), Is.Zero);
    }

    [Test]
    public void Input_shape_agrees_with_the_same_set_dim()
    {
        var (c1, viaShape, e1) = Run("inspect", Fixture("dynamic_batch"), "--json", "--input-shape", "input=2,3,32,32");
        var (c2, viaDim, e2) = Run("inspect", Fixture("dynamic_batch"), "--json", "--set-dim", "N=2", "--input-shape", "input=2,3,32,32");
        var (c3, viaSetDim, e3) = Run("inspect", Fixture("dynamic_batch"), "--json", "--set-dim", "N=2");
        Assert.That((c1, c2, c3), Is.EqualTo((Program.Ok, Program.Ok, Program.Ok)), e1 + e2 + e3);
        using (var doc = CliHarness.SingleJson(viaSetDim))
        {
            Assert.That(doc.RootElement.GetProperty("outputs")[0].GetProperty("type").GetString(), Is.EqualTo("float[2,10]"));
        }
        Assert.That(viaShape, Is.EqualTo(viaSetDim));
        Assert.That(viaDim, Is.EqualTo(viaSetDim), "agreeing pins are accepted together");
    }

    [Test]
    public void Set_dim_accepts_a_symbol_declared_only_on_an_output()
    {
        // conv_asym_pads_dilation has a static input and symbolic output dims (as the exporter wrote them).
        var (code, _, stderr) = Run("inspect", Fixture("conv_asym_pads_dilation"), "--set-dim", "Convoutput_dim_0=1");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
    }
}
