using System.Diagnostics;
using ModelBridge.Profiles;
using ModelBridge.Verify;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Parity.Tests;

/// <summary>The HTML report renders in headless Chromium (scripts/check-report.sh); ignored where Chromium is not installed, except under CI.</summary>
[TestFixture]
public sealed class HtmlReportRenderTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Test]
    public void Report_with_a_divergence_renders_to_a_non_trivial_png()
    {
        if (!File.Exists(Chromium))
        {
            // .ci/run installs Chromium (CI=true): there a missing browser is a failure, not a skip.
            string why = $"{Chromium} is not installed (apt-get install -y chromium).";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(why);
            }
            Assert.Ignore(why);
        }
        const string fixture = "retinanet_mbv2_gn_op13";
        using Model original = Model.Load(Fixtures.Model(fixture));
        ConversionResult conversion = ModelConverter.Convert(original, TargetProfile.BuiltIn("ort-nnapi"));
        using Model converted = conversion.Model;
        // Perturb one mid-graph conv so the chart has a first divergence and a tail of carried error.
        Graph g = converted.Graph;
        var convs = g.TopologicalOrder().Where(n => n.OpType == "Conv").ToList();
        Node conv = convs[convs.Count / 2];
        Tensor w = conv.Inputs[1]!.Initializer!;
        g.SetInput(conv, 1, g.AddInitializer("perturbed", Tensor.Create<float>([.. w.Dims], w.ToFloatArray().Select(v => v * 1.01f).ToArray())));
        ParityReport report = ParityChecker.VerifyConversion(original, conversion, new ParityOptions(), ParityInputs.FromTestData(Fixtures.TestData(fixture)));
        Assert.That(report.Passed, Is.False);

        string dir = Path.Combine(TestContext.CurrentContext.WorkDirectory, "html-render");
        ParityReportWriter.WriteAll(report, dir);
        string html = Path.Combine(dir, ParityReportWriter.HtmlFile), png = Path.Combine(dir, "parity.png");
        string script = Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "scripts", "check-report.sh");
        var psi = new ProcessStartInfo("bash", [script, html, png]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(120_000), Is.True, "chromium finished within 2 minutes");
        Assert.That(p.ExitCode, Is.Zero, stdout + stderr);
        byte[] bytes = File.ReadAllBytes(png);
        Assert.That(bytes.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        int width = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];
        int height = (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23];
        Assert.That((width, height), Is.EqualTo((1200, 900)));
        Assert.That(bytes.Length, Is.GreaterThan(20_000), "not a blank page");
        // The chart takes the page's width: its tolerance line (#f9a825) spans nearly all of the 1200 px
        // viewport less the page margins, not a fixed 960 px box.
        (int left, int right) = PngImage.Decode(bytes).ColumnsMatching(0xF9, 0xA8, 0x25, tolerance: 40);
        TestContext.Out.WriteLine($"tolerance line spans x = {left}..{right}");
        Assert.That(right - left, Is.GreaterThan(1000), "the chart uses the page's width");
        TestContext.AddTestAttachment(png, "rendered parity report");
        TestContext.Out.WriteLine($"{png}: {bytes.Length} bytes");
    }
}
