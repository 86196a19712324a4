namespace ModelBridge.Rewriting;

/// <summary>The outcome of matching a pattern at a node: a match, or the reason there is none.</summary>
/// <typeparam name="T">The pattern's match record.</typeparam>
public readonly struct MatchResult<T>
{
    private readonly T? _value;

    private MatchResult(T? value, string? reason)
    {
        _value = value;
        FailureReason = reason;
    }

    /// <summary>True when the pattern applies.</summary>
    public bool Succeeded => FailureReason is null;

    /// <summary>Why the pattern does not apply (null on success).</summary>
    public string? FailureReason { get; }

    /// <summary>The match (only valid when <see cref="Succeeded"/>).</summary>
    public T Value => Succeeded ? _value! : throw new InvalidOperationException($"No match: {FailureReason}");

    /// <summary>A successful match.</summary>
    public static MatchResult<T> Success(T value) => new(value, null);

    /// <summary>A failed match with a reason that names what did not fit.</summary>
    public static MatchResult<T> Fail(string reason) => new(default, reason);

    /// <summary>Lets a pattern write <c>return match;</c>.</summary>
    public static implicit operator MatchResult<T>(T value) => Success(value);

    /// <summary>Lets a pattern write <c>return MatchResult.Fail("...")</c>.</summary>
    public static implicit operator MatchResult<T>(MatchFailure failure) => Fail(failure.Reason);
}

/// <summary>A reason a pattern did not match (converts to any <see cref="MatchResult{T}"/>).</summary>
/// <param name="Reason">What did not fit.</param>
public readonly record struct MatchFailure(string Reason);

/// <summary>Factory for match failures.</summary>
public static class MatchResult
{
    /// <summary>A failure with a reason.</summary>
    public static MatchFailure Fail(string reason) => new(reason);
}
