namespace ModelBridge.Rewriting;

/// <summary>
/// Something a pass reports about one rewrite beyond the counts (e.g. the rank chosen for a factored
/// convolution). Passes hand notes to <see cref="GraphRewriter.Note"/>; they come back in
/// <see cref="PassStatistics.Notes"/>, so a pass never keeps mutable results of its own.
/// </summary>
/// <param name="Node">The node the note is about (its name in the graph the pass saw).</param>
public abstract record PassNote(string Node);
