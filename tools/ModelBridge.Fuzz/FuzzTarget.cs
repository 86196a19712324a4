using ModelBridge.Errors;
using ModelBridge.Inspection;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Shapes;

namespace ModelBridge.Fuzz;

/// <summary>How one fuzz case ended.</summary>
internal enum OutcomeKind
{
    /// <summary>Every stage finished.</summary>
    Ok,

    /// <summary>A stage raised a <see cref="ModelBridgeException"/> (the expected way to refuse a bad model).</summary>
    Refused,

    /// <summary>A stage raised any other exception: a bug.</summary>
    Bug,

    /// <summary>The case did not finish within the time limit: a bug.</summary>
    Timeout,
}

/// <summary>The result of one case.</summary>
/// <param name="Kind">How it ended.</param>
/// <param name="Key">Outcome label: "ok", the exception type, or "timeout".</param>
/// <param name="Stage">The stage that raised (for a bug, the first bug's stage).</param>
/// <param name="Error">The exception, for refusals and bugs.</param>
/// <param name="AllocatedBytes">Managed bytes allocated by the case's thread.</param>
internal sealed record FuzzOutcome(OutcomeKind Kind, string Key, string? Stage, Exception? Error, long AllocatedBytes);

/// <summary>
/// Runs a (possibly damaged) model through load → validate → inspect summary → shape inference →
/// profile check → conversion → save and reload, on a worker with a wall-clock limit.
/// </summary>
/// <remarks>
/// A <see cref="ModelBridgeException"/> from a stage is the expected refusal; later stages still run
/// on the loaded graph (they are public entry points and must cope with a graph that was never
/// validated). Any other exception is a bug, and so is a case that outlives its time limit.
/// </remarks>
internal static class FuzzTarget
{
    /// <summary>Runs one case; never throws.</summary>
    public static FuzzOutcome Run(byte[] bytes, TargetProfile profile, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource();
        var task = Task.Factory.StartNew(() => RunStages(bytes, profile, cts.Token), cts.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!task.Wait(timeout))
        {
            cts.Cancel();
            // The worker may not observe cancellation; it is abandoned (counted, not awaited).
            return new FuzzOutcome(OutcomeKind.Timeout, "timeout", null, null, 0);
        }
        return task.Result;
    }

    private static FuzzOutcome RunStages(byte[] bytes, TargetProfile profile, CancellationToken ct)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        FuzzOutcome? refused = null;
        FuzzOutcome? bug = null;

        bool Stage(string name, Action body)
        {
            try
            {
                body();
                return true;
            }
            catch (ModelBridgeException ex)
            {
                refused ??= new FuzzOutcome(OutcomeKind.Refused, ex.GetType().Name, name, ex, 0);
                return false;
            }
#pragma warning disable CA1031 // Every other exception is what the fuzzer is looking for.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                bug ??= new FuzzOutcome(OutcomeKind.Bug, ex.GetType().Name, name, ex, 0);
                return false;
            }
        }

        Model? model = null;
        if (Stage("load", () => model = Model.Load(bytes)))
        {
            using (model)
            {
                Graph g = model!.Graph;
                Stage("validate", g.Validate);
                Stage("summary", () => ModelSummary.Create(model));
                Stage("shape-inference", () => ShapeInference.Run(g));
                Stage("profile-check", () => ProfileChecker.Check(g, profile));
                Stage("convert", () =>
                {
                    // Validation after every pass turns a pass that breaks the graph into a visible bug.
                    ConversionResult r = ModelConverter.Convert(model, profile, new ConvertOptions { ValidateAfterEachPass = true }, ct);
                    using Model converted = r.Model;
                    byte[] saved = converted.ToBytes();
                    using Model back = Model.Load(saved);
                });
            }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        FuzzOutcome result = bug ?? refused ?? new FuzzOutcome(OutcomeKind.Ok, "ok", null, null, 0);
        return result with { AllocatedBytes = allocated };
    }
}
