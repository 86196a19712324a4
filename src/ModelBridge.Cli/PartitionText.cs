using System.Globalization;
using ModelBridge.Profiles;

namespace ModelBridge.Cli;

/// <summary>How <c>check</c> and <c>convert</c> describe a partition estimate in text.</summary>
internal static class PartitionText
{
    /// <summary>Partitions listed one per line before the rest are summarised.</summary>
    public const int MaxRows = 20;

    /// <summary>A percentage with one decimal.</summary>
    public static string Pct(double x) => (100 * x).ToString("F1", CultureInfo.InvariantCulture) + "%";

    /// <summary>
    /// One line on where the model runs: for a target with a CPU fallback, the partitions and the MAC
    /// share they hold; for one without, that the model does not run there while a node is unsupported.
    /// </summary>
    public static string Headline(TargetProfile profile, ProfileReport report)
    {
        PartitionEstimate p = report.Partition;
        if (!p.FallsBackToCpu)
        {
            string why = profile.Fallback.Declared ? "has no CPU fallback" : "declares no CPU fallback";
            return report.AllSupported
                ? $"{profile.Name} {why}; every node is supported"
                : $"{profile.Name} {why}: the model does not run there until every node is supported";
        }
        string unit = p.Kind == PartitionKind.Nodes ? $"run(s) of {profile.Name} kernels (it takes nodes one by one)" : "partition(s)";
        string macs = p.TotalMacs == 0 ? "no known MACs" : $"{Pct(p.MacShare)} of {CliSupport.N(p.TotalMacs)} known MACs";
        return $"{profile.Name} falls back to the CPU: {p.Count} {unit} on {profile.Name} hold {p.AcceleratedNodes}/{p.CheckedNodes} nodes and {macs}";
    }

    /// <summary><c>'name'</c>, or <c>Op→'output'</c> for a node without a name.</summary>
    private static string Label(Ir.Node n) => n.Name.Length > 0 ? $"'{n.Name}'" : $"{n.OpType}→'{n.Outputs.OfType<Ir.Value>().FirstOrDefault()?.Name}'";

    /// <summary>Writes the headline and, for a fallback target with more than one partition, a row per partition.</summary>
    public static void Print(TextWriter w, TargetProfile profile, ProfileReport report, string indent = "  ")
    {
        w.WriteLine(indent + Headline(profile, report));
        PartitionEstimate p = report.Partition;
        if (!p.FallsBackToCpu || p.Count < 2)
        {
            return;
        }
        w.WriteLine($"{indent}  {"#",3} {"nodes",6} {"MACs",14} {"share",7}  first .. last node");
        foreach (AcceleratedPartition part in p.Partitions.Take(MaxRows))
        {
            w.WriteLine($"{indent}  {part.Index,3} {part.NodeList.Count,6} {CliSupport.N(part.Macs),14} {Pct(part.MacShare),7}  {Label(part.NodeList[0])} .. {Label(part.NodeList[^1])}");
        }
        if (p.Count > MaxRows)
        {
            w.WriteLine($"{indent}  ... {p.Count - MaxRows} more (--json lists every partition)");
        }
    }
}
