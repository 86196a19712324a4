using ModelBridge.Onnx;

namespace ModelBridge.Verify.Reports;

/// <summary>Writes a <see cref="ParityReport"/> as JSON, Markdown and a self-contained HTML page.</summary>
/// <remarks>Every file is written atomically (<see cref="AtomicFile"/>): a reader sees the old file or the complete new one.</remarks>
public static class ParityReportWriter
{
    /// <summary>File name of the JSON report.</summary>
    public const string JsonFile = "parity.json";

    /// <summary>File name of the Markdown summary.</summary>
    public const string MarkdownFile = "parity.md";

    /// <summary>File name of the HTML page.</summary>
    public const string HtmlFile = "parity.html";

    /// <summary>Writes <c>parity.json</c>, <c>parity.md</c> and <c>parity.html</c> into <paramref name="directory"/> (created when missing).</summary>
    /// <returns>The paths written.</returns>
    public static IReadOnlyList<string> WriteAll(ParityReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string json = Path.Combine(directory, JsonFile), md = Path.Combine(directory, MarkdownFile), html = Path.Combine(directory, HtmlFile);
        string jsonText = ParityJson.Write(report), mdText = ParityMarkdown.Write(report), htmlText = ParityHtml.Write(report);
        AtomicFile.WriteAll([(json, s => Utf8(s, jsonText)), (md, s => Utf8(s, mdText)), (html, s => Utf8(s, htmlText))]);
        return [json, md, html];
    }

    /// <summary>The JSON report as text.</summary>
    public static string ToJson(ParityReport report) => ParityJson.Write(report ?? throw new ArgumentNullException(nameof(report)));

    /// <summary>
    /// The JSON summary (<c>modelbridge-parity-summary/1</c>): verdict, run facts, counts, the first
    /// divergence in full and the worst tensors in brief, whatever the graph's size.
    /// </summary>
    public static string ToSummaryJson(ParityReport report) => ParityJson.WriteSummary(report ?? throw new ArgumentNullException(nameof(report)));

    /// <summary>The Markdown summary as text.</summary>
    public static string ToMarkdown(ParityReport report) => ParityMarkdown.Write(report ?? throw new ArgumentNullException(nameof(report)));

    /// <summary>The HTML page as text.</summary>
    public static string ToHtml(ParityReport report) => ParityHtml.Write(report ?? throw new ArgumentNullException(nameof(report)));

    private static void Utf8(Stream stream, string text)
    {
        using var w = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
        w.Write(text);
    }
}
