using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelBridge.Slimming;

namespace ModelBridge.Verify.Slimming;

/// <summary>
/// The slimming report: per layer what was chosen and what it costs and measures, and for the whole
/// model MACs by scope before and after and the held-out agreement. JSON (<c>modelbridge-slim-report/1</c>,
/// the <c>OUT.slim.json</c> that <c>convert --slim</c> writes) and text.
/// </summary>
public static class SlimReport
{
    /// <summary>The report as JSON. Non-finite numbers are written as null.</summary>
    public static string ToJson(SlimResult plan, SlimEvaluation evaluation, double targetMacs)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(evaluation);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "modelbridge-slim-report/1");
            w.WriteNumber("targetMacs", targetMacs);
            w.WriteBoolean("budgetMet", plan.Allocation.Met);
            WriteOptional(w, "threshold", plan.Allocation.Threshold);
            w.WriteBoolean("dataAware", plan.DataAware);
            w.WriteString("calibration", plan.Calibration);
            w.WriteNumber("calibrationSamples", plan.CalibrationSamples);
            w.WriteString("sensitivity", plan.SensitivityMeasure);
            w.WriteNumber("planSeconds", plan.Elapsed.TotalSeconds);
            w.WriteStartArray("notes");
            foreach (string n in plan.Notes)
            {
                w.WriteStringValue(n);
            }
            w.WriteEndArray();
            w.WriteStartObject("model");
            w.WriteNumber("macsBefore", evaluation.MacsBefore);
            w.WriteNumber("macsAfter", evaluation.MacsAfter);
            w.WriteNumber("macsFraction", evaluation.MacsFraction);
            w.WriteNumber("parametersBefore", evaluation.ParametersBefore);
            w.WriteNumber("parametersAfter", evaluation.ParametersAfter);
            w.WriteStartArray("scopes");
            foreach (ScopeMacs s in evaluation.Scopes)
            {
                w.WriteStartObject();
                w.WriteString("scope", s.Scope);
                w.WriteNumber("macsBefore", s.MacsBefore);
                w.WriteNumber("macsAfter", s.MacsAfter);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("heldOut");
            w.WriteString("inputs", evaluation.HeldOut);
            w.WriteNumber("samples", evaluation.Samples);
            w.WriteStartArray("outputs");
            foreach (OutputAgreement o in evaluation.Outputs)
            {
                w.WriteStartObject();
                w.WriteString("output", o.Output);
                WriteOptional(w, "normalizedRmsError", o.NormalizedRmsError);
                WriteOptional(w, "relativeToMax", o.RelativeToMax);
                WriteOptional(w, "maxAbsError", o.MaxAbsError);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("tasks");
            foreach (TaskResult t in evaluation.Tasks)
            {
                w.WriteStartObject();
                w.WriteString("measure", t.Measure);
                w.WriteString("spec", t.Spec);
                WriteOptional(w, "mean", t.Mean);
                WriteOptional(w, "min", t.Min);
                w.WriteStartArray("perSample");
                foreach (double v in t.PerSample)
                {
                    if (double.IsFinite(v))
                    {
                        w.WriteNumberValue(v);
                    }
                    else
                    {
                        w.WriteNullValue();
                    }
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("layers");
            foreach (SlimLayerReport l in plan.Layers)
            {
                WriteLayer(w, l);
            }
            w.WriteEndArray();
            w.WriteStartArray("excluded");
            foreach (string e in plan.Excluded)
            {
                w.WriteStringValue(e);
            }
            w.WriteEndArray();
            w.WriteStartArray("candidates");
            foreach (SlimCandidate c in plan.Candidates)
            {
                w.WriteStartObject();
                w.WriteString("layer", c.Layer);
                w.WriteString("method", Name(c.Method));
                w.WriteNumber("rank", c.Rank);
                w.WriteNumber("macs", c.Macs);
                w.WriteNumber("parameters", c.Parameters);
                WriteOptional(w, "error", c.Error);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteLayer(Utf8JsonWriter w, SlimLayerReport l)
    {
        w.WriteStartObject();
        w.WriteString("layer", l.Layer);
        w.WriteStartArray("nodes");
        foreach (string n in l.Nodes)
        {
            w.WriteStringValue(n);
        }
        w.WriteEndArray();
        w.WriteString("shape", l.Shape);
        w.WriteString("method", l.Method is { } m ? Name(m) : "kept");
        if (l.Rank is int r)
        {
            w.WriteNumber("rank", r);
            w.WriteNumber("fullRank", l.FullRank ?? 0);
            w.WriteString("fit", l.Fit?.ToString().ToLowerInvariant());
        }
        w.WriteNumber("macsBefore", l.MacsBefore);
        w.WriteNumber("macsAfter", l.MacsAfter);
        w.WriteNumber("parametersBefore", l.ParametersBefore);
        w.WriteNumber("parametersAfter", l.ParametersAfter);
        WriteOptional(w, "calibrationError", l.CalibrationError);
        WriteOptional(w, "weightError", l.WeightError);
        WriteOptional(w, "sensitivity", l.Sensitivity);
        w.WriteEndObject();
    }

    /// <summary>The report as text: the whole-model figures, then one line per slimmed layer.</summary>
    public static string ToText(SlimResult plan, SlimEvaluation evaluation, double targetMacs)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(evaluation);
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"slimming: MACs {evaluation.MacsBefore:N0} -> {evaluation.MacsAfter:N0} ({evaluation.MacsFraction:P1}; budget {targetMacs:P0}{(plan.Allocation.Met ? "" : ", NOT met")}), parameters {evaluation.ParametersBefore:N0} -> {evaluation.ParametersAfter:N0}");
        sb.AppendLine(ci, $"  fit: {(plan.DataAware ? $"data-aware, {plan.CalibrationSamples} calibration sample(s) ({plan.Calibration})" : "to the weights (no calibration data)")}; sensitivity: {plan.SensitivityMeasure}");
        foreach (string n in plan.Notes)
        {
            sb.AppendLine(ci, $"  note: {n}");
        }
        if (evaluation.HeldOut is null)
        {
            sb.AppendLine("  held-out: none given, so the output error on unseen inputs was not measured");
        }
        else
        {
            sb.AppendLine(ci, $"  held-out ({evaluation.Samples} sample(s), {evaluation.HeldOut}):");
            foreach (OutputAgreement o in evaluation.Outputs)
            {
                sb.AppendLine(ci, $"    {o.Output}: normalised RMS error {o.NormalizedRmsError:G3}, relative-to-max {o.RelativeToMax:G3}");
            }
            foreach (TaskResult t in evaluation.Tasks)
            {
                sb.AppendLine(ci, $"    {t.Measure}: mean {t.Mean:F3}, worst {t.Min:F3}");
            }
        }
        sb.AppendLine("  MACs by scope (before -> after):");
        foreach (ScopeMacs s in evaluation.Scopes.Where(s => s.MacsBefore > 0 || s.MacsAfter > 0))
        {
            sb.AppendLine(ci, $"    {s.Scope,-28} {s.MacsBefore,14:N0} -> {s.MacsAfter,14:N0}");
        }
        var slimmed = plan.Layers.Where(l => l.Method is not null).ToList();
        sb.AppendLine(ci, $"  layers slimmed: {slimmed.Count} of {plan.Layers.Count} candidates ({plan.Excluded.Count} convs excluded)");
        sb.AppendLine(ci, $"    {"node",-30} {"weight",-16} {"method",-9} {"rank",9} {"MACs before",13} {"after",13} {"params",9} {"after",9} {"cal.err",8} {"sens.",8}");
        foreach (SlimLayerReport l in slimmed)
        {
            string rank = $"{l.Rank}/{l.FullRank}";
            sb.AppendLine(ci, $"    {Cut(l.Nodes[0], 30),-30} {l.Shape,-16} {Name(l.Method!.Value),-9} {rank,9} {l.MacsBefore,13:N0} {l.MacsAfter,13:N0} {l.ParametersBefore,9:N0} {l.ParametersAfter,9:N0} {Format(l.CalibrationError),8} {Format(l.Sensitivity),8}");
        }
        return sb.ToString();
    }

    /// <summary>The method's name as reports spell it: <c>channel</c>, <c>spatial</c>, <c>separable</c>.</summary>
    public static string Name(FactorizationMethod method) => method.ToString().ToLowerInvariant();

    private static string Cut(string s, int n) => s.Length <= n ? s : "…" + s[^(n - 1)..];

    private static string Format(double? v) => v is double d ? d.ToString("G3", CultureInfo.InvariantCulture) : "-";

    private static void WriteOptional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
