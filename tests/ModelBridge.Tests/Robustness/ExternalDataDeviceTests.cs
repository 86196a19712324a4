using System.Diagnostics;
using ModelBridge.OnnxProto;

namespace ModelBridge.Tests.Robustness;

/// <summary>External data that names a FIFO or a device node inside the model's folder is refused before anything is opened.</summary>
[TestFixture]
[Platform("Linux")]
public sealed class ExternalDataDeviceTests
{
    private static byte[] ModelPointingAt(string location)
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        var t = new TensorProto { Name = "evil", DataType = 1, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.Add(4);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "16" });
        p.Graph.Initializer.Add(t);
        return p.ToByteArray();
    }

    private static void Make(string tool, params string[] args)
    {
        try
        {
            using Process? p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true });
            p!.WaitForExit();
            if (p.ExitCode != 0)
            {
                Assert.Ignore($"{tool} failed here: {p.StandardError.ReadToEnd()}");
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Ignore($"{tool} is not available.");
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public void A_fifo_inside_the_folder_is_refused_without_blocking()
    {
        using TempDir dir = TestPaths.NewTempDir();
        Make("mkfifo", dir.File("weights.bin"));
        File.WriteAllBytes(dir.File("m.onnx"), ModelPointingAt("weights.bin"));
        // Opening a FIFO for reading would block until a writer appears: the check must come first.
        var load = Task.Run(() => Model.Load(dir.File("m.onnx")));
        Assert.That(Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(15))).Result, Is.SameAs(load), "load returned");
        var ex = load.Exception?.InnerException as UnsafeExternalDataException;
        Assert.That(ex, Is.Not.Null, load.Exception?.ToString());
        Assert.That(ex!.TensorName, Is.EqualTo("evil"));
        Assert.That(ex.Message, Does.Contain("'weights.bin' is not a regular file"));
    }

    [Test]
    public void A_device_node_inside_the_folder_is_refused()
    {
        using TempDir dir = TestPaths.NewTempDir();
        Make("mknod", dir.File("zero.bin"), "c", "1", "5"); // /dev/zero's numbers
        File.WriteAllBytes(dir.File("m.onnx"), ModelPointingAt("zero.bin"));
        var ex = Assert.Throws<UnsafeExternalDataException>(() => Model.Load(dir.File("m.onnx")));
        Assert.That(ex!.Message, Does.Contain("Initializer 'evil'").And.Contain("'zero.bin' is not a regular file"));
    }

    [Test]
    public void A_symlink_inside_the_folder_to_a_device_is_refused()
    {
        using TempDir dir = TestPaths.NewTempDir();
        File.CreateSymbolicLink(dir.File("zero.bin"), "/dev/zero");
        File.WriteAllBytes(dir.File("m.onnx"), ModelPointingAt("zero.bin"));
        Assert.That(() => Model.Load(dir.File("m.onnx")), Throws.TypeOf<UnsafeExternalDataException>().With.Message.Contains("outside the model's folder"));
    }

    [Test]
    public void Offsets_and_lengths_that_overflow_are_refused_before_reading()
    {
        using TempDir dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("w.bin"), new byte[16]);
        ModelProto p = ModelProto.Parser.ParseFrom(ModelPointingAt("w.bin"));
        TensorProto t = p.Graph.Initializer.Single(i => i.Name == "evil");
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "8" });
        t.ExternalData.Single(e => e.Key == "length").Value = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllBytes(dir.File("m.onnx"), p.ToByteArray());
        using Model m = Model.Load(dir.File("m.onnx"));
        Assert.That(() => m.Graph.GetValue("evil").Initializer!.Data, Throws.TypeOf<InvalidModelException>().With.Message.Contains("past the end").And.Message.Contains("'evil'"));
    }
}
