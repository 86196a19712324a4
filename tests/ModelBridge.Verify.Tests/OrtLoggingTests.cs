using System.Runtime.InteropServices;

namespace ModelBridge.Verify.Tests;

/// <summary>
/// ORT logs from native code straight to file descriptors 1 and 2, past .NET's Console, so these
/// tests point both descriptors at a file while a session is created and run.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class OrtLoggingTests
{
    [Test]
    public void Creating_and_running_a_session_with_defaults_prints_nothing()
    {
        using Model model = TestModels.ReluMulNeg();
        string printed = CaptureNativeOutput(() =>
        {
            using var runner = new OrtRunner(model);
            runner.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create<float>([2, 3], new float[6]) });
        });
        Assert.That(printed, Is.Empty);
    }

    [Test]
    public void Verbose_logging_prints_what_ORT_does()
    {
        // Also proves the capture works, so the test above cannot pass vacuously.
        using Model model = TestModels.ReluMulNeg();
        string printed = CaptureNativeOutput(() =>
        {
            using var runner = new OrtRunner(model, new OrtRunnerOptions { LogLevel = OrtLogLevel.Verbose });
        });
        Assert.That(printed, Does.Contain("ModelBridge.Verify"));
    }

    [Test]
    public void Warnings_are_shown_by_default_and_hidden_at_error_level()
    {
        // Opset 6 is below what ORT guarantees, so it warns.
        var model = new Model(opsetVersion: 6);
        Value x = model.Graph.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(2)));
        model.Graph.SetOutputs([model.Graph.AddNode("Relu", [x], ["y"]).Outputs[0]!]);
        using (model)
        {
            Assert.That(CaptureNativeOutput(() => new OrtRunner(model).Dispose()), Does.Contain("opset"));
            Assert.That(CaptureNativeOutput(() => new OrtRunner(model, new OrtRunnerOptions { LogLevel = OrtLogLevel.Error }).Dispose()), Is.Empty);
        }
    }

    private static string CaptureNativeOutput(Action action)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Assert.Ignore("Capturing native output uses POSIX dup2.");
        }
        string file = Path.GetTempFileName();
        try
        {
            using (var sink = new FileStream(file, FileMode.Create, FileAccess.Write))
            {
                int fd = (int)sink.SafeFileHandle.DangerousGetHandle();
                int savedOut = Dup(1), savedErr = Dup(2);
                try
                {
                    Dup2(fd, 1);
                    Dup2(fd, 2);
                    action();
                    _ = FFlush(IntPtr.Zero);
                }
                finally
                {
                    Dup2(savedOut, 1);
                    Dup2(savedErr, 2);
                    _ = Close(savedOut);
                    _ = Close(savedErr);
                }
            }
            return File.ReadAllText(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static int Dup(int fd)
    {
        int result = NativeDup(fd);
        return result >= 0 ? result : throw new IOException($"dup({fd}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private static void Dup2(int from, int to)
    {
        if (NativeDup2(from, to) < 0)
        {
            throw new IOException($"dup2({from}, {to}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int NativeDup(int fd);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int NativeDup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fflush")]
    private static partial int FFlush(IntPtr stream);
}
