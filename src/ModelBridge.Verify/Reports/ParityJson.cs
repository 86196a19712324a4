using System.Text;
using System.Text.Json;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify.Reports;

/// <summary>
/// The JSON form of a report (<c>modelbridge-parity-report/1</c>) and its summary
/// (<c>modelbridge-parity-summary/1</c>). Non-finite numbers are written as strings.
/// </summary>
internal static class ParityJson
{
    /// <summary>Tensors listed under <c>worst</c> in the summary.</summary>
    public const int SummaryWorst = 10;

    /// <summary>
    /// The summary: verdict, run facts, counts, the first divergence in full, and the worst tensors
    /// (by error/threshold) in brief. Small whatever the graph's size; what <c>verify --json</c> prints.
    /// </summary>
    public static string WriteSummary(ParityReport r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "modelbridge-parity-summary/1");
            w.WriteBoolean("passed", r.Passed);
            w.WriteString("summary", r.ToString());
            WriteInfo(w, r.Info);
            w.WriteNumber("compared", r.Tensors.Count);
            w.WriteNumber("diverging", r.Tensors.Count(t => !t.Passed));
            w.WriteNumber("skipped", r.Skipped.Count);
            if (r.FirstDivergence is { } first)
            {
                w.WritePropertyName("firstDivergence");
                WriteTensor(w, first);
            }
            else
            {
                w.WriteNull("firstDivergence");
            }
            w.WriteStartArray("worst");
            foreach (TensorParity t in ByScore(r).Take(SummaryWorst))
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("original", t.Original);
                w.WriteNumber("order", t.Order);
                w.WriteString("op", t.OpType);
                w.WriteString("verdict", t.Passed ? "pass" : "fail");
                Number(w, "error", t.Error);
                Number(w, "threshold", t.Threshold);
                Number(w, "score", t.Score);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Tensors from the largest error/threshold down; ties in graph order.</summary>
    internal static IEnumerable<TensorParity> ByScore(ParityReport r) =>
        r.Tensors.OrderByDescending(t => double.IsNaN(t.Score) ? double.PositiveInfinity : t.Score).ThenBy(t => t.Order);

    public static string Write(ParityReport r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "modelbridge-parity-report/1");
            w.WriteBoolean("passed", r.Passed);
            w.WriteString("summary", r.ToString());
            WriteInfo(w, r.Info);
            if (r.FirstDivergence is { } first)
            {
                w.WriteString("firstDivergence", first.Original);
            }
            else
            {
                w.WriteNull("firstDivergence");
            }
            w.WriteStartArray("tensors");
            foreach (TensorParity t in r.Tensors)
            {
                WriteTensor(w, t);
            }
            w.WriteEndArray();
            w.WriteStartArray("skipped");
            foreach (string s in r.Skipped)
            {
                w.WriteStringValue(s);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteInfo(Utf8JsonWriter w, ParityRunInfo i)
    {
        w.WriteStartObject("run");
        w.WriteString("original", i.OriginalModel);
        w.WriteString("rewritten", i.RewrittenModel);
        w.WriteString("target", i.Target);
        w.WriteString("rule", Rule(i.Rule));
        w.WriteNumber("rtol", i.BaseTolerance.Rtol);
        w.WriteNumber("atol", i.BaseTolerance.Atol);
        w.WriteNumber("cosineFloor", i.BaseTolerance.CosineFloor);
        w.WriteString("inputs", i.Inputs);
        w.WriteNumber("samples", i.Samples);
        w.WriteNumber("chunks", i.Chunks);
        w.WriteNumber("ortRuns", i.OrtRuns);
        w.WriteNumber("maxMemoryBytes", i.MaxMemoryBytes);
        w.WriteNumber("largestChunkBytes", i.LargestChunkBytes);
        w.WriteNumber("exposedPeakBytes", i.ExposedPeakBytes);
        w.WriteNumber("peakWorkingSetBytes", i.PeakWorkingSetBytes);
        w.WriteNumber("elapsedMs", Math.Round(i.Elapsed.TotalMilliseconds, 1));
        w.WriteNumber("compareMs", Math.Round(i.CompareElapsed.TotalMilliseconds, 1));
        w.WriteNumber("metricsMs", Math.Round(i.MetricsElapsed.TotalMilliseconds, 2));
        w.WriteStartArray("warnings");
        foreach (string s in i.Warnings)
        {
            w.WriteStringValue(s);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static string Rule(ParityRule rule) => rule switch
    {
        ParityRule.Elementwise => "elementwise",
        ParityRule.RelativeToMax => "relative-to-max",
        ParityRule.Cosine => "cosine",
        _ => rule.ToString(),
    };

    private static void WriteTensor(Utf8JsonWriter w, TensorParity t)
    {
        w.WriteStartObject();
        w.WriteString("name", t.Name);
        w.WriteString("original", t.Original);
        w.WriteNumber("order", t.Order);
        w.WriteString("op", t.OpType);
        w.WriteStartArray("shape");
        foreach (long d in t.Shape)
        {
            w.WriteNumberValue(d);
        }
        w.WriteEndArray();
        w.WriteString("verdict", t.Passed ? "pass" : "fail");
        w.WriteBoolean("graphOutput", t.IsGraphOutput);
        w.WriteString("comparer", t.Comparer);
        Number(w, "error", t.Error);
        Number(w, "threshold", t.Threshold);
        Number(w, "score", t.Score);
        if (t.ExpectedMaxAbsError is { } expected)
        {
            Number(w, "expectedMaxAbsError", expected);
        }
        if (t.Problem is not null)
        {
            w.WriteString("problem", t.Problem);
        }
        w.WriteNumber("worstSample", t.WorstSample);
        w.WriteStartObject("provenance");
        w.WriteString("original", t.Original);
        w.WriteStartArray("passes");
        foreach (string p in t.Passes)
        {
            w.WriteStringValue(p);
        }
        w.WriteEndArray();
        WriteContract(w, t.Contract);
        if (t.Slice is { } slice)
        {
            w.WriteStartObject("slice");
            w.WriteNumber("axis", slice.Axis);
            w.WriteStartArray("indices");
            foreach (long i in slice.Indices)
            {
                w.WriteNumberValue(i);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        WriteMetrics(w, "metrics", t.Metrics);
        if (t.Local is { } local)
        {
            w.WriteStartObject("local");
            Number(w, "error", local.Error);
            Number(w, "threshold", local.Threshold);
            w.WriteString("verdict", local.Passed ? "pass" : "fail");
            w.WriteNumber("nodes", local.Nodes);
            w.WriteStartArray("boundary");
            foreach (string b in local.Boundary)
            {
                w.WriteStringValue(b);
            }
            w.WriteEndArray();
            WriteMetrics(w, "metrics", local.Metrics);
            w.WriteEndObject();
        }
        if (t.Attribution is { } a)
        {
            w.WriteStartObject("attribution");
            w.WriteString("pass", a.PassId);
            w.WriteNumber("conversions", a.Conversions);
            w.WriteString("detail", a.Detail);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteContract(Utf8JsonWriter w, NumericContract c)
    {
        w.WriteStartObject("contract");
        w.WriteBoolean("exact", c.IsExact);
        if (!c.IsExact)
        {
            w.WriteNumber("rtol", c.RelativeTolerance);
            w.WriteNumber("atol", c.AbsoluteTolerance);
        }
        w.WriteEndObject();
    }

    private static void WriteMetrics(Utf8JsonWriter w, string name, ParityMetrics m)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", m.Count);
        Number(w, "maxAbs", m.MaxAbsError);
        Number(w, "meanAbs", m.MeanAbsError);
        Number(w, "rmse", m.Rmse);
        Number(w, "maxRelative", m.MaxRelativeError);
        Number(w, "relativeToMax", m.RelativeToMax);
        Number(w, "quantileAbs", m.QuantileAbsError);
        Number(w, "quantileLevel", m.QuantileLevel);
        Number(w, "cosine", m.CosineSimilarity);
        Number(w, "snrDb", m.SnrDb);
        Number(w, "referenceMaxMagnitude", m.ReferenceMaxMagnitude);
        w.WriteNumber("referenceNaNs", m.ReferenceNaNs);
        w.WriteNumber("referenceInfinities", m.ReferenceInfinities);
        w.WriteNumber("actualNaNs", m.ActualNaNs);
        w.WriteNumber("actualInfinities", m.ActualInfinities);
        w.WriteNumber("nonFiniteMismatches", m.NonFiniteMismatches);
        w.WriteNumber("worstIndex", m.WorstIndex);
        Number(w, "worstReference", m.WorstReference);
        Number(w, "worstActual", m.WorstActual);
        if (m.Violations is { } v)
        {
            w.WriteNumber("violations", v);
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }
}
