using System.Globalization;

namespace ModelBridge.Verify.Slimming;

/// <summary>
/// A task-level comparison of a model output before and after slimming, for reports that answer
/// "was it worth it" in the task's terms rather than in tensor error.
/// </summary>
/// <remarks>
/// Two measures, written as specs on the command line (<c>--task</c>):
/// <list type="bullet">
/// <item><c>binary-iou:OUTPUT:T</c>: the intersection over union of the sets of elements above T (compared in float32) in the
/// original's and the slimmed model's OUTPUT (a text detector's probability map binarised at 0.3, as
/// PaddleOCR's DB post-processing does). Two empty sets agree fully (1).</item>
/// <item><c>topk-overlap:OUTPUT:K[:C]</c>: the fraction of the original's K highest values that are also among
/// the slimmed model's K highest, over OUTPUT's elements, or over channel C of its last axis (a face
/// detector's 10 highest face scores: <c>topk-overlap:scores:10:1</c>).</item>
/// </list>
/// Each sample gives one value in [0, 1]; reports give the mean and the minimum over the samples.
/// </remarks>
public sealed record TaskAgreement
{
    private TaskAgreement(string kind, string output, double threshold, int k, int? channel)
    {
        Kind = kind;
        Output = output;
        Threshold = threshold;
        K = k;
        Channel = channel;
    }

    /// <summary><c>binary-iou</c> or <c>topk-overlap</c>.</summary>
    public string Kind { get; }

    /// <summary>The graph output compared.</summary>
    public string Output { get; }

    /// <summary>Binarisation threshold (<c>binary-iou</c>).</summary>
    public double Threshold { get; }

    /// <summary>K (<c>topk-overlap</c>).</summary>
    public int K { get; }

    /// <summary>Channel of the last axis (<c>topk-overlap</c>), or null for all elements.</summary>
    public int? Channel { get; }

    /// <summary>IoU of <paramref name="output"/> binarised at <paramref name="threshold"/>.</summary>
    public static TaskAgreement BinaryIou(string output, double threshold)
    {
        ArgumentException.ThrowIfNullOrEmpty(output);
        return double.IsFinite(threshold) ? new("binary-iou", output, threshold, 0, null) : throw new ArgumentOutOfRangeException(nameof(threshold));
    }

    /// <summary>Overlap of the <paramref name="k"/> highest values of <paramref name="output"/> (optionally of one last-axis channel).</summary>
    public static TaskAgreement TopKOverlap(string output, int k, int? channel = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (channel is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "The channel is a non-negative index.");
        }
        return new("topk-overlap", output, 0, k, channel);
    }

    /// <summary>Parses <c>binary-iou:OUTPUT:T</c> or <c>topk-overlap:OUTPUT:K[:C]</c> (the output name may itself contain colons).</summary>
    /// <exception cref="FormatException">The spec is not one of these forms.</exception>
    public static TaskAgreement Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string[] parts = spec.Split(':');
        const string Forms = "expected binary-iou:OUTPUT:THRESHOLD (e.g. binary-iou:sigmoid_0.tmp_0:0.3) or topk-overlap:OUTPUT:K[:CHANNEL] (e.g. topk-overlap:scores:10:1)";
        if (parts.Length >= 3 && parts[0] == "binary-iou"
            && double.TryParse(parts[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && double.IsFinite(t))
        {
            return BinaryIou(string.Join(':', parts[1..^1]), t);
        }
        if (parts.Length >= 3 && parts[0] == "topk-overlap")
        {
            bool withChannel = parts.Length >= 4 && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                && int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out _);
            int kIndex = withChannel ? parts.Length - 2 : parts.Length - 1;
            if (kIndex >= 2 && int.TryParse(parts[kIndex], NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k >= 1)
            {
                int? channel = withChannel ? int.Parse(parts[^1], CultureInfo.InvariantCulture) : null;
                return TopKOverlap(string.Join(':', parts[1..kIndex]), k, channel);
            }
        }
        throw new FormatException($"'{spec}' is not a task measure; {Forms}.");
    }

    /// <summary>The agreement of <paramref name="actual"/> with <paramref name="reference"/> (the output's values, same shape).</summary>
    /// <exception cref="ArgumentException">The lengths differ, or the channel does not exist.</exception>
    public double Measure(TensorData reference, TensorData actual)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(actual);
        ReadOnlySpan<float> r = TensorViews.AsFloats(reference), a = TensorViews.AsFloats(actual);
        if (r.Length != a.Length)
        {
            throw new ArgumentException($"'{Output}' has {r.Length} values in the original and {a.Length} in the slimmed model.", nameof(actual));
        }
        if (Kind == "binary-iou")
        {
            // In float32, as the model's own post-processing compares (numpy casts the Python scalar to the array's type).
            float t = (float)Threshold;
            long both = 0, either = 0;
            for (int i = 0; i < r.Length; i++)
            {
                bool x = r[i] > t, y = a[i] > t;
                both += x && y ? 1 : 0;
                either += x || y ? 1 : 0;
            }
            return either == 0 ? 1 : (double)both / either;
        }
        int stride = 1, offset = 0;
        if (Channel is int c)
        {
            long last = reference.Dims.Length == 0 ? 1 : reference.Dims[^1];
            if (c >= last)
            {
                throw new ArgumentException($"'{Output}' has {last} channels on its last axis; channel {c} does not exist.", nameof(reference));
            }
            stride = (int)last;
            offset = c;
        }
        HashSet<int> top = TopK(r, stride, offset), topActual = TopK(a, stride, offset);
        return top.Count == 0 ? 1 : (double)top.Count(topActual.Contains) / top.Count;
    }

    private HashSet<int> TopK(ReadOnlySpan<float> values, int stride, int offset)
    {
        var items = new List<(float Value, int Index)>();
        for (int i = offset; i < values.Length; i += stride)
        {
            items.Add((values[i], i));
        }
        return [.. items.OrderByDescending(x => x.Value).ThenBy(x => x.Index).Take(K).Select(x => x.Index)];
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == "binary-iou"
        ? string.Create(CultureInfo.InvariantCulture, $"IoU of {Output} > {Threshold:G4}")
        : $"overlap of the {K} highest {Output}{(Channel is int c ? $"[..., {c}]" : "")}";
}
