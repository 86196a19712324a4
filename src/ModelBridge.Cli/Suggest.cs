namespace ModelBridge.Cli;

/// <summary>"Did you mean ...?" for mistyped names: the closest candidate by edit distance.</summary>
internal static class Suggest
{
    /// <summary>
    /// The candidate closest to <paramref name="input"/>: at most length/3 edits away
    /// (case-insensitive), or containing it; null when none is close.
    /// </summary>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(candidates);
        string needle = input.ToLowerInvariant();
        int limit = needle.Length / 3;
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            string c = candidate.ToLowerInvariant();
            int d = Distance(needle, c);
            bool close = d <= limit || (needle.Length >= 3 && c.Contains(needle, StringComparison.Ordinal));
            if (close && d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }
        return best;
    }

    /// <summary>Ends a sentence: <c>; did you mean 'X'?</c>, or <c>.</c> when nothing is close.</summary>
    public static string DidYouMean(string input, IEnumerable<string> candidates) =>
        Closest(input, candidates) is { } c ? $"; did you mean '{c}'?" : ".";

    /// <summary>Levenshtein distance (insertions, deletions and substitutions cost 1).</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
