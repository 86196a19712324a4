using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelBridge.Verify;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelBridge.Benchmarks.Floor;

/// <summary>
/// The floor of <c>verify</c>: each model run once, in its own fresh ONNX Runtime session created from
/// its file, with no extra outputs, ORT graph optimisation off (as verify runs). Uses ORT's API
/// directly; ModelBridge only parses the test-data <c>.pb</c> inputs.
/// </summary>
/// <remarks>
/// Both sessions stay alive until the end, so the process's peak RSS is the two sessions' own
/// footprint (plus the .NET runtime), the figure verify's bound is stated against.
/// </remarks>
public static class PlainInference
{
    /// <summary>Runs <paramref name="modelA"/> then <paramref name="modelB"/> once each; returns the output element count.</summary>
    /// <param name="modelA">First model file.</param>
    /// <param name="modelB">Second model file.</param>
    /// <param name="inputFolder">A test_data_set_N folder whose <c>input_K.pb</c> files feed both models.</param>
    public static long Run(string modelA, string modelB, string inputFolder)
    {
        List<NamedTensor> inputs = ReadInputs(inputFolder);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var a = new InferenceSession(modelA, options);
        long n = RunOnce(a, inputs);
        using var b = new InferenceSession(modelB, options);
        n += RunOnce(b, inputs);
        return n;
    }

    /// <summary>Command-line form: <c>floor-infer A.onnx B.onnx INPUT_FOLDER</c>; prints the wall time.</summary>
    public static int Command(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: floor-infer A.onnx B.onnx TEST_DATA_FOLDER");
            return 64;
        }
        long t0 = Stopwatch.GetTimestamp();
        long n = Run(args[0], args[1], args[2]);
        Console.WriteLine($"two plain inferences: {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:F0} ms, {n} output elements");
        return 0;
    }

    private static List<NamedTensor> ReadInputs(string folder) =>
        [.. Directory.GetFiles(folder, "input_*.pb").Order(StringComparer.Ordinal).Select(f =>
        {
            TensorData t = TensorData.Parse(File.ReadAllBytes(f), out string name);
            return new NamedTensor(name, t);
        })];

    private static unsafe long RunOnce(InferenceSession session, List<NamedTensor> inputs)
    {
        var values = new List<OrtValue>();
        var handles = new List<System.Buffers.MemoryHandle>();
        try
        {
            foreach (NamedTensor t in inputs)
            {
                System.Buffers.MemoryHandle h = t.Data.Bytes.Pin();
                handles.Add(h);
                values.Add(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (TensorElementType)(int)t.Data.ElementType,
                    [.. t.Data.Dims], (IntPtr)h.Pointer, t.Data.Bytes.Length));
            }
            using var run = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(run, [.. inputs.Select(i => i.Name)], values, session.OutputNames);
            long n = 0;
            foreach (OrtValue o in outputs)
            {
                n += o.GetTensorTypeAndShape().ElementCount;
            }
            return n;
        }
        finally
        {
            values.ForEach(v => v.Dispose());
            handles.ForEach(h => h.Dispose());
        }
    }
}
