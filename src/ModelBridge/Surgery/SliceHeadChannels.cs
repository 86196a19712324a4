using System.Globalization;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>
/// Keeps a subset of the classes and/or anchors of detector head outputs by slicing the output
/// channels of the head's final Conv.
/// <code>
/// Before: t → Conv(W[A·K,C,3,3], b[A·K]) → cls_p3 [N, A·K, H, W]
/// After:  t → Conv(W[I], b[I]) → cls_p3 [N, |I|, H, W]     I = { a·K + k : a ∈ anchors, k ∈ classes }
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// The head outputs are found by <see cref="DetectorHeads"/>. Kept classes slice the class heads
/// only; kept anchors slice every head (classes, boxes, scores). The channel of anchor a and value
/// v is a·W + v for <see cref="HeadLayout.AnchorMajor"/> (W = K, 4 or 1 values per anchor) and
/// v·A + a for <see cref="HeadLayout.ClassMajor"/>; the kept channels come in that same layout,
/// in the order the anchors and classes were given.
/// </para>
/// <para>
/// Preconditions, checked for every selected output before anything changes: the graph output is
/// the output of a Conv with group 1 and no other reader (a Reshape or Transpose in between is
/// refused with the reason), with a constant weight whose C_out equals A·W (and a constant bias,
/// if any). Otherwise the pass throws <see cref="UnsupportedOperatorException"/> naming the node.
/// </para>
/// <para>
/// Convs sharing a weight initializer (one head applied at every level) share the sliced weight.
/// The original initializers are never edited; they are erased once nothing reads them. Each kept
/// output records a <see cref="ChannelSlice"/> on axis 1 of its original in the tensor map, which
/// also makes a second run skip it.
/// </para>
/// <para>
/// Numerics: each kept channel is the same dot product over the same weights as before, but a
/// runtime picks its GEMM kernel by shape, and a conv with fewer output channels may accumulate in
/// another order. ONNX Runtime 1.31 on x64 is bit-identical for the RetinaNet heads (27 or 15 of
/// 45 channels) but differs by up to 6e-7 when one to three channels remain, so the contract is
/// approximate with a tolerance far above that and far below any real change.
/// </para>
/// </remarks>
public sealed class SliceHeadChannels : GraphPass
{
    private readonly HeadGeometry _geometry;
    private readonly HeadLayout _layout;
    private readonly int[]? _classes;
    private readonly int[]? _anchors;
    private readonly DetectorHeads _heads;

    /// <summary>A head Conv the pass can slice.</summary>
    /// <param name="Output">The head output (a graph output).</param>
    /// <param name="Conv">The Conv producing it.</param>
    /// <param name="Head">What the output is.</param>
    /// <param name="Channels">The original channels kept, in order.</param>
    public sealed record Found(Value Output, Node Conv, HeadOutput Head, IReadOnlyList<long> Channels);

    /// <summary>Creates the pass.</summary>
    /// <param name="geometry">Anchors per location and classes of the original heads.</param>
    /// <param name="layout">How the channels are laid out.</param>
    /// <param name="keepClasses">Class ids to keep (null: all).</param>
    /// <param name="keepAnchors">Anchor ids to keep (null: all).</param>
    /// <param name="heads">How head outputs are recognised; <see cref="DetectorHeads.Default"/> when null.</param>
    /// <exception cref="ArgumentException">An id is out of range or repeated, or a list is empty.</exception>
    public SliceHeadChannels(HeadGeometry geometry, HeadLayout layout, IReadOnlyList<int>? keepClasses, IReadOnlyList<int>? keepAnchors, DetectorHeads? heads = null)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        _geometry = geometry;
        _layout = layout;
        _classes = CheckIds(keepClasses, geometry.Classes, "class", nameof(keepClasses));
        _anchors = CheckIds(keepAnchors, geometry.Anchors, "anchor", nameof(keepAnchors));
        _heads = heads ?? DetectorHeads.Default;
    }

    /// <inheritdoc/>
    public override string Id => "slice-head-channels";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-6);

    /// <summary>
    /// Decides whether graph output <paramref name="output"/> is a head output this pass slices:
    /// null when the pass leaves it alone (not a head, nothing to slice, already sliced), else the
    /// match or the reason it cannot be sliced.
    /// </summary>
    public MatchResult<Found>? TryMatch(IReadOnlyGraph graph, Value output, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(output);
        if (_heads.Recognize(output, provenance) is not { } head || provenance?.Get(output.Name)?.Slice is not null)
        {
            return null;
        }
        int width = _geometry.ValuesPerAnchor(head.Role);
        int[] values = head.Role == HeadRole.Classes && _classes is not null ? _classes : [.. Enumerable.Range(0, width)];
        int[] anchors = _anchors ?? [.. Enumerable.Range(0, _geometry.Anchors)];
        long[] channels = _layout == HeadLayout.AnchorMajor
            ? [.. anchors.SelectMany(a => values.Select(v => _geometry.Channel(head.Role, _layout, a, v)))]
            : [.. values.SelectMany(v => anchors.Select(a => _geometry.Channel(head.Role, _layout, a, v)))];
        long total = (long)_geometry.Anchors * width;
        if (channels.Length == total && channels.Select((c, i) => c == i).All(x => x))
        {
            return null; // Keeps every channel in place.
        }
        return Match(output, head, channels, total);
    }

    private static MatchResult<Found> Match(Value output, HeadOutput head, long[] channels, long total)
    {
        if (output.Producer is not { } conv)
        {
            return MatchResult.Fail($"head output '{output.Name}' is not computed by a node");
        }
        if (conv.OpType != "Conv" || !conv.IsStandardDomain)
        {
            return MatchResult.Fail($"head output '{output.Name}' is produced by {conv.OpType} '{conv.Name}', not by the head's final Conv; "
                + "only a Conv whose output is itself the graph output can be sliced (no Reshape/Transpose/activation in between)");
        }
        if (output.Uses.Count > 0)
        {
            return MatchResult.Fail($"Conv '{conv.Name}': output '{output.Name}' is also read by {output.Uses[0].Node}, which expects all channels");
        }
        if (conv.GetInt("group", 1) != 1)
        {
            return MatchResult.Fail($"Conv '{conv.Name}' is grouped (group = {conv.GetInt("group", 1)}); its output channels cannot be sliced alone");
        }
        if (Constants.Of(conv.Input(1)) is not { Dims.Length: >= 1 } w)
        {
            return MatchResult.Fail($"Conv '{conv.Name}': weight '{conv.Input(1)?.Name}' is not a constant initializer");
        }
        if (w.Dims[0] != total)
        {
            return MatchResult.Fail(string.Create(CultureInfo.InvariantCulture,
                $"Conv '{conv.Name}' has C_out = {w.Dims[0]}, but head '{output.Name}' ({head.Kind}) should have anchors × values per anchor = {total} channels"));
        }
        if (conv.Input(2) is { } b && (Constants.Of(b) is not { } bias || bias.ElementCount != total))
        {
            return MatchResult.Fail($"Conv '{conv.Name}': bias '{b.Name}' is not a constant of {total} values");
        }
        return new Found(output, conv, head, channels);
    }

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        Graph graph = rewriter.Graph;
        var found = new List<Found>();
        var failures = new List<(string Reason, Node? Node)>();
        foreach (Value output in graph.Outputs)
        {
            if (TryMatch(graph, output, rewriter.Provenance) is not { } m)
            {
                continue;
            }
            if (m.Succeeded)
            {
                found.Add(m.Value);
            }
            else
            {
                failures.Add((m.FailureReason!, output.Producer));
            }
        }
        if (failures.Count > 0)
        {
            Node? at = failures[0].Node;
            throw new UnsupportedOperatorException(
                $"Cannot slice detector head channels: {failures[0].Reason}" + (failures.Count > 1 ? $" (and {failures.Count - 1} more)" : "."),
                at?.Name, at?.OpType, [.. failures.Select(f => f.Reason)]);
        }
        // One sliced weight (and bias) per original initializer and kept channel list, shared by every level.
        var sliced = new Dictionary<(Value?, string), Value>();
        foreach (Found f in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            rewriter.RootName = f.Conv.Name.Length > 0 ? f.Conv.Name : f.Output.Name;
            Value w = SlicedInitializer(rewriter, sliced, f.Conv.Inputs[1]!, f.Channels, "weight")!;
            Value? b = f.Conv.Input(2) is { } bias ? SlicedInitializer(rewriter, sliced, bias, f.Channels, "bias") : null;
            Node conv = rewriter.CreateNode("Conv", [f.Conv.Inputs[0], w, b], "conv",
                attributes: f.Conv.Attributes, derivedFrom: [f.Output], placeAfter: f.Conv);
            Value y = conv.Outputs[0]!;
            if (f.Output.DeclaredType is { Shape: { Rank: >= 2 } shape } type)
            {
                rewriter.DeclareType(y, type with { Shape = new TensorShape(shape.Dims.Select((d, i) => i == 1 ? Dim.Of(f.Channels.Count) : d)) });
            }
            rewriter.Replace(f.Output, y);
            rewriter.DeclareSlice(y, f.Output, new ChannelSlice(1, f.Channels));
            rewriter.EraseIfUnused([f.Conv]);
            rewriter.Commit();
        }
        foreach (Value old in sliced.Keys.Select(k => k.Item1).OfType<Value>().Distinct())
        {
            if (graph.FindValue(old.Name) == old && old.Uses.Count == 0 && !old.IsGraphInput && !old.IsGraphOutput)
            {
                rewriter.EraseInitializer(old);
            }
        }
        return found.Count;
    }

    private static Value SlicedInitializer(GraphRewriter rewriter, Dictionary<(Value?, string), Value> sliced, Value original, IReadOnlyList<long> channels, string role)
    {
        var key = (original, string.Join(",", channels));
        if (sliced.TryGetValue(key, out Value? done))
        {
            return done;
        }
        Tensor t = Constants.Of(original)!;
        long rowBytes = t.ExpectedByteLength / t.Dims[0];
        ReadOnlySpan<byte> src = t.Data.Span;
        byte[] data = new byte[rowBytes * channels.Count];
        for (int i = 0; i < channels.Count; i++)
        {
            src.Slice((int)(channels[i] * rowBytes), (int)rowBytes).CopyTo(data.AsSpan((int)(i * rowBytes)));
        }
        long[] dims = [.. t.Dims];
        dims[0] = channels.Count;
        Value v = rewriter.CreateInitializer(role, Tensor.FromBytes(t.DataType, dims, data));
        sliced[key] = v;
        return v;
    }

    private static int[]? CheckIds(IReadOnlyList<int>? ids, int count, string what, string paramName)
    {
        if (ids is null)
        {
            return null;
        }
        if (ids.Count == 0)
        {
            throw new ArgumentException($"Keep at least one {what}.", paramName);
        }
        foreach (int id in ids)
        {
            if (id < 0 || id >= count)
            {
                throw new ArgumentException($"The {what} id {id} is out of range: the heads have {what} ids 0..{count - 1}.", paramName);
            }
        }
        if (ids.Distinct().Count() != ids.Count)
        {
            throw new ArgumentException($"The {what} ids {string.Join(",", ids)} repeat an id.", paramName);
        }
        return [.. ids];
    }
}
