using System.Globalization;
using System.Text;

namespace ModelBridge.Verify;

/// <summary>
/// Thrown by <see cref="ParityAssert"/> when a report shows a divergence. Test frameworks report any
/// exception as a failure, so this type depends on none of them.
/// </summary>
public sealed class ParityAssertionException : Exception
{
    /// <summary>Creates the exception for <paramref name="report"/>.</summary>
    public ParityAssertionException(string message, ParityReport report)
        : base(message) => Report = report;

    /// <summary>The failing report (write it with <see cref="Reports.ParityReportWriter"/> for the details).</summary>
    public ParityReport Report { get; }
}

/// <summary>
/// Test helper: <c>ParityAssert.That(report).Passes()</c> throws a <see cref="ParityAssertionException"/>
/// whose message names the first diverging tensor, its metrics and the pass responsible.
/// </summary>
public static class ParityAssert
{
    /// <summary>Starts an assertion about <paramref name="report"/>.</summary>
    public static ParityAssertion That(ParityReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new ParityAssertion(report);
    }
}

/// <summary>An assertion about one <see cref="ParityReport"/>.</summary>
public readonly struct ParityAssertion
{
    private readonly ParityReport _report;

    internal ParityAssertion(ParityReport report) => _report = report;

    /// <summary>Throws unless every compared tensor is within tolerance.</summary>
    /// <exception cref="ParityAssertionException">A tensor diverges, or nothing could be compared.</exception>
    public void Passes()
    {
        if (_report.Passed)
        {
            return;
        }
        throw new ParityAssertionException(Describe(_report), _report);
    }

    /// <summary>Throws unless the graph outputs (only) are within tolerance.</summary>
    /// <exception cref="ParityAssertionException">A graph output diverges, or none was compared.</exception>
    public void OutputsPass()
    {
        var outputs = _report.Tensors.Where(t => t.IsGraphOutput).ToList();
        if (outputs.Count > 0 && outputs.All(t => t.Passed))
        {
            return;
        }
        throw new ParityAssertionException(Describe(_report), _report);
    }

    /// <summary>The failure message: first divergence, metrics, local error, responsible pass, and a count of the rest.</summary>
    public static string Describe(ParityReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Tensors.Count == 0)
        {
            return $"Parity check compared no tensor ({report.Skipped.Count} map entries skipped); is the tensor map for this model?";
        }
        TensorParity? t = report.FirstDivergence;
        if (t is null)
        {
            return report.ToString();
        }
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.Append(c, $"Parity failed: first divergence at '{t.Original}' ({t.OpType}, #{t.Order} in topological order)");
        if (t.Name != t.Original)
        {
            sb.Append(c, $", rewritten as '{t.Name}'");
        }
        sb.AppendLine(".");
        if (t.Problem is not null)
        {
            sb.AppendLine(c, $"  {t.Problem}");
        }
        else
        {
            ParityMetrics m = t.Metrics;
            sb.AppendLine(c, $"  {t.Comparer}: error {t.Error:G4} > threshold {t.Threshold:G4} (sample {t.WorstSample})");
            sb.AppendLine(c, $"  max|d| {m.MaxAbsError:G4} at [{m.WorstIndex}] (ref {m.WorstReference:G6}, got {m.WorstActual:G6}), mean|d| {m.MeanAbsError:G4}, rmse {m.Rmse:G4}, p{m.QuantileLevel * 100:G3} {m.QuantileAbsError:G4}");
            sb.Append(c, $"  max|ref| {m.ReferenceMaxMagnitude:G4}, rel-to-max {m.RelativeToMax:G4}, cosine {m.CosineSimilarity:G8}, SNR {m.SnrDb:F1} dB");
            sb.AppendLine(m.NonFiniteMismatches > 0 ? $", {m.NonFiniteMismatches} non-finite mismatches" : "");
        }
        sb.AppendLine(c, $"  passes: {(t.Passes.Count == 0 ? "(none)" : string.Join(" -> ", t.Passes))}; contract {t.Contract}");
        if (t.Local is { } local)
        {
            sb.AppendLine(c, $"  local error {local.Error:G4} (threshold {local.Threshold:G4}): {(local.Passed ? "carried from above" : "introduced here")}");
        }
        string responsible = t.Attribution is { PassId: { } pass }
            ? $"  responsible pass: {pass} ({t.Attribution.Detail})"
            : t.Attribution is { } a ? $"  responsible pass: unknown ({a.Detail})" : "  responsible pass: not attributed (no conversion replay given)";
        sb.AppendLine(responsible);
        int more = report.Divergences.Count - 1;
        if (more > 0)
        {
            sb.AppendLine(c, $"  {more} more tensor(s) diverge after it; {report.Tensors.Count} compared.");
        }
        return sb.ToString().TrimEnd();
    }
}
