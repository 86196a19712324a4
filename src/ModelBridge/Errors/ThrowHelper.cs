using System.Diagnostics.CodeAnalysis;

namespace ModelBridge.Errors;

/// <summary>Throw sites kept out of hot paths so callers stay small and inlinable.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void InvalidModel(string message, string? nodeName = null, string? opType = null, Exception? inner = null)
        => throw new InvalidModelException(message, nodeName, opType, inner);

    [DoesNotReturn]
    public static T InvalidModel<T>(string message, string? nodeName = null, string? opType = null)
        => throw new InvalidModelException(message, nodeName, opType);

    [DoesNotReturn]
    public static void UnsafeExternalData(string message, string tensorName)
        => throw new UnsafeExternalDataException(message, tensorName);

    [DoesNotReturn]
    public static void InvalidProfile(string source, string? key, string message, Exception? inner = null)
        => throw new InvalidProfileException(key is null ? $"{source}: {message}" : $"{source}: '{key}': {message}", source, key, inner);

    [DoesNotReturn]
    public static T InvalidProfile<T>(string source, string? key, string message)
        => throw new InvalidProfileException(key is null ? $"{source}: {message}" : $"{source}: '{key}': {message}", source, key);

    [DoesNotReturn]
    public static void UnsupportedOperator(string message, Ir.Node? node)
        => throw new UnsupportedOperatorException(message, node?.Name, node?.OpType);

    [DoesNotReturn]
    public static void InvalidOperation(string message) => throw new InvalidOperationException(message);
}
