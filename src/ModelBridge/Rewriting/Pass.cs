using ModelBridge.Ir;

namespace ModelBridge.Rewriting;

/// <summary>
/// A graph transformation with a kebab-case id, the operators it may create, and the numeric
/// contract it promises. Subclass <see cref="RewritePattern{TMatch}"/> for node-rooted rewrites
/// and <see cref="GraphPass"/> for whole-graph ones.
/// </summary>
public abstract class Pass
{
    /// <summary>Kebab-case identifier (<c>fold-batchnorm-into-conv</c>), used to disable the pass.</summary>
    public abstract string Id { get; }

    /// <summary>Operators the pass may create, so a profile can be checked statically.</summary>
    public abstract IReadOnlyList<string> GeneratedOps { get; }

    /// <summary>How the values the pass produces relate to those they replace.</summary>
    public abstract NumericContract Numerics { get; }

    /// <summary>Runs once over the graph; returns the number of rewrites applied.</summary>
    internal abstract int Apply(GraphRewriter rewriter, List<string> failures, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public override string ToString() => Id;
}

/// <summary>
/// A rewrite rooted at nodes of one operator type. <see cref="Match"/> sees the graph read-only
/// and does every check, returning the reason when it does not apply; <see cref="Rewrite"/>
/// cannot fail.
/// </summary>
/// <typeparam name="TMatch">What <see cref="Match"/> found, handed to <see cref="Rewrite"/>.</typeparam>
public abstract class RewritePattern<TMatch> : Pass
{
    /// <summary>Operator type of the nodes the pattern is rooted at.</summary>
    public abstract string RootOp { get; }

    /// <summary>
    /// Every operator type the pattern is rooted at; <see cref="RootOp"/> alone unless a pattern
    /// treats several operators alike (Conv and the pools sharing window attributes).
    /// </summary>
    public virtual IReadOnlyList<string> RootOps => [RootOp];

    /// <summary>Decides whether the pattern applies at <paramref name="root"/>.</summary>
    protected abstract MatchResult<TMatch> Match(IReadOnlyGraph graph, Node root);

    /// <summary>Applies the rewrite for a successful match.</summary>
    protected abstract void Rewrite(GraphRewriter rewriter, TMatch match);

    /// <summary>Test hook: matches without rewriting.</summary>
    public MatchResult<TMatch> TryMatch(IReadOnlyGraph graph, Node root) => Match(graph, root);

    internal override int Apply(GraphRewriter rewriter, List<string> failures, CancellationToken cancellationToken)
    {
        int applied = 0;
        IReadOnlyList<string> roots = RootOps;
        foreach (Node node in rewriter.Graph.TopologicalOrder())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!node.IsAlive || !roots.Contains(node.OpType) || !node.IsStandardDomain)
            {
                continue;
            }
            MatchResult<TMatch> m = Match(rewriter.View, node);
            if (!m.Succeeded)
            {
                if (failures.Count < 100)
                {
                    failures.Add($"{node.OpType} '{node.Name}': {m.FailureReason}");
                }
                rewriter.Refusals[NodeNaming.NameOf(node)] = m.FailureReason!;
                continue;
            }
            rewriter.RootName = node.Name.Length > 0 ? node.Name : node.OpType;
            Rewrite(rewriter, m.Value);
            rewriter.Commit();
            applied++;
        }
        return applied;
    }
}

/// <summary>A pass that looks at the whole graph at once (dead-code elimination, deduplication).</summary>
public abstract class GraphPass : Pass
{
    /// <summary>Runs the pass; returns the number of changes made.</summary>
    protected abstract int Run(GraphRewriter rewriter, CancellationToken cancellationToken);

    internal override int Apply(GraphRewriter rewriter, List<string> failures, CancellationToken cancellationToken)
    {
        rewriter.RootName = rewriter.Graph.Name.Length > 0 ? rewriter.Graph.Name : "graph";
        int n = Run(rewriter, cancellationToken);
        rewriter.Commit();
        return n;
    }
}
