using System.Globalization;
using System.Text.RegularExpressions;
using ModelBridge.Rewriting;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Verify.Tests;

/// <summary>
/// The HTML report's layout: a failing page opens on the first divergence, its table is ordered by
/// error/threshold with graph order one click away, the legend sits outside the plot and the chart
/// takes the page's width.
/// </summary>
[TestFixture]
public sealed partial class ParityHtmlTests
{
    private ParityReport _report = null!;
    private string _html = null!;

    [OneTimeSetUp]
    public void Verify_a_model_with_one_perturbed_conv()
    {
        // mobilenet_v1 with its fourth conv's weights scaled by 1.01: the tensors before it pass, it is
        // the first divergence, and the error is carried to the end.
        string path = Path.Combine(TestPaths.Fixtures, "mobilenet_v1", "model.onnx");
        using Model original = Model.Load(path);
        using Model perturbed = Model.Load(path);
        Graph g = perturbed.Graph;
        Node conv = g.TopologicalOrder().Where(n => n.OpType == "Conv").ElementAt(3);
        Tensor w = conv.Inputs[1]!.Initializer!;
        g.SetInput(conv, 1, g.AddInitializer("perturbed", Tensor.Create<float>([.. w.Dims], w.ToFloatArray().Select(v => v * 1.01f).ToArray())));
        _report = ParityChecker.Compare(original, perturbed, ProvenanceMap.Identity(perturbed.Graph), ParityInputs.Random(1, seed: 3),
            new ParityOptions { Localize = false });
        _html = ParityReportWriter.ToHtml(_report);
        Assert.That(_report.FirstDivergence, Is.Not.Null);
        Assert.That(_report.Tensors.TakeWhile(t => t.Passed).Count(), Is.GreaterThan(3), "passing tensors come before the divergence in graph order");
    }

    private List<(int Order, int Rank, string Class, double Score)> Rows() =>
        [.. Row().Matches(_html).Select(m => (Int(m.Groups["order"]), Int(m.Groups["rank"]), m.Groups["cls"].Value, Score(m.Groups["cells"].Value)))];

    [Test]
    public void The_page_opens_on_the_first_divergence()
    {
        TensorParity first = _report.FirstDivergence!;
        int section = _html.IndexOf("id=\"first-divergence\"", StringComparison.Ordinal);
        Assert.That(section, Is.GreaterThan(0));
        Assert.That(section, Is.LessThan(_html.IndexOf("<svg", StringComparison.Ordinal)), "before the chart");
        Assert.That(_html[section..(section + 400)], Does.Contain(first.Original));
        var rows = Rows();
        Assert.That(rows[0].Order, Is.EqualTo(first.Order), "the table's first row is the first divergence");
        Assert.That(rows[0].Class, Is.EqualTo("first"));
    }

    [Test]
    public void The_table_is_ordered_by_error_over_threshold()
    {
        var rows = Rows();
        Assert.That(rows, Has.Count.EqualTo(_report.Tensors.Count));
        Assert.That(rows.Select(r => r.Rank), Is.EqualTo(Enumerable.Range(0, rows.Count)), "ranks in document order");
        Assert.That(rows.Skip(1).Select(r => r.Score), Is.Ordered.Descending);
        int lastFailing = rows.FindLastIndex(r => r.Class is "fail" or "first");
        int firstPassing = rows.FindIndex(r => r.Class.Length == 0);
        Assert.That(lastFailing, Is.LessThan(firstPassing), "every diverging tensor is listed before any passing one");
    }

    [Test]
    public void Graph_order_is_one_click_away()
    {
        Assert.That(_html, Does.Contain("data-by=\"graph\"").And.Contain("data-by=\"score\""));
        var byOrder = Rows().OrderBy(r => r.Order).Select(r => r.Order);
        Assert.That(byOrder, Is.EqualTo(_report.Tensors.Select(t => t.Order)), "sorting rows by data-order gives the graph order");
    }

    [Test]
    public void The_legend_is_outside_the_plot_and_the_chart_is_full_width()
    {
        int legend = _html.IndexOf("<div class=\"legend\">", StringComparison.Ordinal);
        int svg = _html.IndexOf("<svg", StringComparison.Ordinal);
        Assert.That(legend, Is.GreaterThan(0).And.LessThan(svg), "the legend is HTML above the chart");
        string chart = _html[svg.._html.IndexOf("</svg>", StringComparison.Ordinal)];
        Assert.That(chart, Does.Not.Contain(">pass<").And.Not.Contain(">fail<"), "no legend drawn over the plot");
        Assert.That(SvgTag().Match(chart).Value, Does.Not.Contain(" width=").And.Contain("viewBox="));
        Assert.That(_html, Does.Contain("svg.chart{display:block;width:100%;height:auto}"));
    }

    [Test]
    public void The_models_are_labelled_converted_and_original()
    {
        Assert.That(_html, Does.Contain($"<code>{_report.Info.RewrittenModel}</code> (converted) against <code>{_report.Info.OriginalModel}</code> (original)"));
    }

    private static int Int(Group g) => int.Parse(g.Value, CultureInfo.InvariantCulture);

    /// <summary>The error/threshold cell: the seventh of the row.</summary>
    private static double Score(string cells)
    {
        string v = Cell().Matches(cells)[6].Groups[1].Value;
        return double.Parse(v, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("<tr class=\"(?<cls>[a-z]*)\" data-order=\"(?<order>\\d+)\" data-rank=\"(?<rank>\\d+)\">(?<cells>.*?)</tr>")]
    private static partial Regex Row();

    [GeneratedRegex("<td[^>]*?(?: data-v=\"([^\"]*)\")?[^>]*>")]
    private static partial Regex Cell();

    [GeneratedRegex("<svg[^>]*>")]
    private static partial Regex SvgTag();
}
