using ModelBridge.Inspection;
using ModelBridge.Profiles;
using ModelBridge.Shapes;

namespace ModelBridge.Tests.Robustness;

/// <summary>Runs a model through every public stage, the way the fuzz harness does.</summary>
internal static class Stages
{
    public static readonly TargetProfile Nnapi = TargetProfile.BuiltIn("ort-nnapi");

    /// <summary>
    /// Load, validate, summary, shape inference, profile check, convert and save/reload: each stage
    /// either finishes or raises a <see cref="ModelBridgeException"/>; anything else fails the test.
    /// Returns the refusals (stage and exception), in order.
    /// </summary>
    public static List<(string Stage, ModelBridgeException Error)> RunAll(byte[] bytes)
    {
        var refusals = new List<(string, ModelBridgeException)>();
        void Stage(string name, Action body)
        {
            try
            {
                body();
            }
            catch (ModelBridgeException ex)
            {
                refusals.Add((name, ex));
            }
        }
        Model? model = null;
        Stage("load", () => model = Model.Load(bytes));
        if (model is null)
        {
            return refusals;
        }
        using (model)
        {
            Stage("validate", model.Graph.Validate);
            Stage("summary", () => ModelSummary.Create(model));
            Stage("shape-inference", () => ShapeInference.Run(model.Graph));
            Stage("profile-check", () => ProfileChecker.Check(model.Graph, Nnapi));
            Stage("convert", () =>
            {
                ConversionResult r = ModelConverter.Convert(model, Nnapi);
                using Model converted = r.Model;
                using Model back = Model.Load(converted.ToBytes());
            });
        }
        return refusals;
    }
}
