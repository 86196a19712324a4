using System.Globalization;
using System.Text;

namespace ModelBridge.Verify.Reports;

/// <summary>The Markdown summary: verdict, run facts, the first divergence, and the worst tensors.</summary>
internal static class ParityMarkdown
{
    private const int Rows = 25;

    public static string Write(ParityReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        ParityRunInfo i = r.Info;
        sb.AppendLine(c, $"# Parity: {(r.Passed ? "PASS" : "FAIL")}");
        sb.AppendLine();
        sb.AppendLine(c, $"`{i.RewrittenModel}` (converted) against `{i.OriginalModel}` (original): {r}.");
        sb.AppendLine();
        sb.AppendLine(c, $"- Rule: {ParityJson.Rule(i.Rule)}; base tolerance {i.BaseTolerance}{(i.Target is null ? "" : $" (target `{i.Target}`)")}, widened per tensor by its passes' contracts");
        sb.AppendLine(c, $"- Inputs: {i.Inputs}; {r.Tensors.Count} tensors compared, {r.Skipped.Count} map entries skipped");
        sb.AppendLine(c, $"- Runs: {i.OrtRuns} ORT runs in {i.Chunks} chunk(s); exposed tensors held at once {Mib(i.ExposedPeakBytes)} measured (largest chunk {Mib(i.LargestChunkBytes)} estimated) of the {Mib(i.MaxMemoryBytes)} budget; peak working set {Mib(i.PeakWorkingSetBytes)}");
        sb.AppendLine(c, $"- Time: {i.Elapsed.TotalSeconds:F2} s ({i.CompareElapsed.TotalSeconds:F2} s comparing, of which {i.MetricsElapsed.TotalMilliseconds:F1} ms metrics)");
        foreach (string w in i.Warnings)
        {
            sb.AppendLine(c, $"- Warning: {w}");
        }
        sb.AppendLine();
        if (r.FirstDivergence is not null)
        {
            sb.AppendLine("## First divergence");
            sb.AppendLine();
            sb.AppendLine("```");
            sb.AppendLine(ParityAssertion.Describe(r));
            sb.AppendLine("```");
            sb.AppendLine();
        }
        var worst = r.Tensors.OrderByDescending(t => t.Score).Take(Rows).ToList();
        sb.AppendLine(c, $"## Worst {worst.Count} tensors (error / threshold)");
        sb.AppendLine();
        sb.AppendLine("| # | tensor | op | verdict | error | threshold | max abs | rel-to-max | cosine | SNR dB | local | pass |");
        sb.AppendLine("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (TensorParity t in worst)
        {
            string local = t.Local is { } l ? (l.Passed ? $"{l.Error:G3} (carried)" : $"{l.Error:G3} (introduced)") : "";
            string pass = t.Attribution?.PassId ?? (t.Passes.Count > 0 ? string.Join(", ", t.Passes) : "");
            sb.AppendLine(c, $"| {t.Order} | `{Escape(t.Original)}` | {t.OpType} | {(t.Passed ? "pass" : "**fail**")} | {t.Error:G3} | {t.Threshold:G3} | {t.Metrics.MaxAbsError:G3} | {t.Metrics.RelativeToMax:G3} | {t.Metrics.CosineSimilarity:F6} | {t.Metrics.SnrDb:F1} | {local} | {Escape(pass)} |");
        }
        return sb.ToString();
    }

    internal static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
