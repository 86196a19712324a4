using Google.Protobuf;
using ModelBridge.OnnxProto;

namespace ModelBridge.Verify.Tests;

[TestFixture]
public sealed class TestDataSetTests
{
    private static List<NamedTensor> ManyTypes()
    {
        var gen = new InputGenerator(seed: 3);
        var list = new List<NamedTensor>();
        foreach (DataType t in new[]
        {
            DataType.Float, DataType.Double, DataType.Float16, DataType.BFloat16, DataType.Int64, DataType.Int32, DataType.Int16,
            DataType.Int8, DataType.UInt64, DataType.UInt32, DataType.UInt16, DataType.UInt8, DataType.Bool, DataType.Int4, DataType.UInt4,
        })
        {
            string name = "t_" + DataTypes.OnnxName(t);
            list.Add(new NamedTensor(name, gen.Generate(name, new TensorType(t, TensorShape.Of(2, 3)))));
        }
        // NaN payloads, signed zero and infinities must survive bit for bit.
        float[] special = [float.NaN, BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001)), -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon];
        list.Add(new NamedTensor("special", TensorData.Create<float>([6], special)));
        list.Add(new NamedTensor("scalar", TensorData.Scalar(3.5)));
        list.Add(new NamedTensor("empty", TensorData.Create<long>([0, 3], [])));
        return list;
    }

    [Test]
    public void Write_then_read_gives_bit_identical_tensors_and_names()
    {
        using var dir = TestPaths.NewTempDir();
        List<NamedTensor> inputs = ManyTypes();
        var outputs = new List<NamedTensor> { new("out", TensorData.Create<float>([2], [1f, -2f])) };

        new TestDataSet(inputs, outputs).Write(dir.Path);
        TestDataSet read = TestDataSet.Read(dir.Path);

        Assert.That(read.Inputs.Select(t => t.Name), Is.EqualTo(inputs.Select(t => t.Name)));
        for (int k = 0; k < inputs.Count; k++)
        {
            Assert.That(read.Inputs[k].Data, Is.EqualTo(inputs[k].Data), inputs[k].Name);
            Assert.That(read.Inputs[k].Data.ElementType, Is.EqualTo(inputs[k].Data.ElementType));
        }
        Assert.That(read.Outputs, Is.EqualTo(outputs));
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Has.None.EndsWith(".tmp"), "no temporary files left");
    }

    [Test]
    public void Files_are_ordered_by_number_not_by_name()
    {
        using var dir = TestPaths.NewTempDir();
        var inputs = Enumerable.Range(0, 12).Select(k => new NamedTensor($"in{k}", TensorData.Scalar((long)k))).ToList();

        new TestDataSet(inputs, []).Write(dir.Path);

        Assert.That(TestDataSet.Read(dir.Path).Inputs.Select(t => t.Data.ToInt64Array()[0]), Is.EqualTo(Enumerable.Range(0, 12).Select(k => (long)k)));
    }

    [Test]
    public void Rewriting_with_fewer_tensors_removes_the_stale_files()
    {
        using var dir = TestPaths.NewTempDir();
        new TestDataSet(ManyTypes(), [new NamedTensor("a", TensorData.Scalar(1f)), new NamedTensor("b", TensorData.Scalar(2f))]).Write(dir.Path);

        new TestDataSet([new NamedTensor("x", TensorData.Scalar(1f))], [new NamedTensor("y", TensorData.Scalar(2f))]).Write(dir.Path);

        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "input_0.pb", "output_0.pb" }));
    }

    [Test]
    public void Unnamed_tensors_take_their_names_from_the_model()
    {
        using var dir = TestPaths.NewTempDir();
        using Model model = TestModels.ReluMulNeg();
        new TestDataSet([new NamedTensor("", TensorData.Create<float>([2, 3], new float[6]))], [new NamedTensor("", TensorData.Create<float>([2, 3], new float[6]))])
            .Write(dir.Path);

        TestDataSet withModel = TestDataSet.Read(dir.Path, model);
        TestDataSet without = TestDataSet.Read(dir.Path);

        Assert.That(withModel.Inputs[0].Name, Is.EqualTo("x"));
        Assert.That(withModel.Outputs[0].Name, Is.EqualTo("y"));
        Assert.That(without.Inputs[0].Name, Is.Empty);
        Assert.Throws<InvalidOperationException>(() => without.InputsByName());
    }

    [Test]
    public void Folders_are_found_in_numeric_order()
    {
        using var dir = TestPaths.NewTempDir();
        foreach (int n in new[] { 10, 2, 0, 1 })
        {
            Directory.CreateDirectory(dir.File($"test_data_set_{n}"));
        }
        Directory.CreateDirectory(dir.File("test_data_set_x"));

        Assert.That(TestDataSet.FindFolders(dir.Path).Select(Path.GetFileName),
            Is.EqualTo(new[] { "test_data_set_0", "test_data_set_1", "test_data_set_2", "test_data_set_10" }));
    }

    [Test]
    public void A_gap_in_the_numbering_is_refused()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("input_0.pb"), TensorData.Scalar(1f).ToProto("a").ToByteArray());
        File.WriteAllBytes(dir.File("input_2.pb"), TensorData.Scalar(1f).ToProto("b").ToByteArray());
        Assert.Throws<InvalidDataException>(() => TestDataSet.Read(dir.Path));
    }

    [Test]
    public void Typed_fields_read_like_raw_data()
    {
        var floats = new TensorProto { DataType = (int)DataType.Float, Dims = { 3 }, FloatData = { 1f, -2f, 0.5f } };
        var longs = new TensorProto { DataType = (int)DataType.Int64, Dims = { 2 }, Int64Data = { long.MinValue, 7 } };
        var doubles = new TensorProto { DataType = (int)DataType.Double, Dims = { 1 }, DoubleData = { Math.PI } };
        var halves = new TensorProto { DataType = (int)DataType.Float16, Dims = { 2 }, Int32Data = { BitConverter.HalfToUInt16Bits((Half)1.5f), BitConverter.HalfToUInt16Bits((Half)(-2f)) } };
        var bools = new TensorProto { DataType = (int)DataType.Bool, Dims = { 3 }, Int32Data = { 1, 0, 1 } };
        var uints = new TensorProto { DataType = (int)DataType.UInt32, Dims = { 1 }, Uint64Data = { uint.MaxValue } };
        var int8s = new TensorProto { DataType = (int)DataType.Int8, Dims = { 2 }, Int32Data = { -128, 127 } };

        Assert.That(TensorData.FromProto(floats), Is.EqualTo(TensorData.Create<float>([3], [1f, -2f, 0.5f])));
        Assert.That(TensorData.FromProto(longs), Is.EqualTo(TensorData.Create<long>([2], [long.MinValue, 7])));
        Assert.That(TensorData.FromProto(doubles), Is.EqualTo(TensorData.Create<double>([1], [Math.PI])));
        Assert.That(TensorData.FromProto(halves), Is.EqualTo(TensorData.Create<Half>([2], [(Half)1.5f, (Half)(-2f)])));
        Assert.That(TensorData.FromProto(bools), Is.EqualTo(TensorData.Create<bool>([3], [true, false, true])));
        Assert.That(TensorData.FromProto(uints), Is.EqualTo(TensorData.Create<uint>([1], [uint.MaxValue])));
        Assert.That(TensorData.FromProto(int8s), Is.EqualTo(TensorData.Create<sbyte>([2], [-128, 127])));
    }

    [Test]
    public void ToProto_round_trips_through_raw_data()
    {
        TensorData t = TensorData.Create<int>([2, 2], [1, -2, 3, int.MaxValue]);
        TensorProto p = t.ToProto("n");
        Assert.That(p.Name, Is.EqualTo("n"));
        Assert.That(p.RawData.Length, Is.EqualTo(16));
        Assert.That(TensorData.Parse(p.ToByteArray(), out string name), Is.EqualTo(t));
        Assert.That(name, Is.EqualTo("n"));
    }

    [Test]
    public void String_tensors_are_refused_clearly()
    {
        var strings = new TensorProto { DataType = (int)DataType.String, Dims = { 1 }, Name = "words", StringData = { ByteString.CopyFromUtf8("hi") } };
        var e = Assert.Throws<NotSupportedException>(() => TensorData.FromProto(strings));
        Assert.That(e!.Message, Does.Contain("'words'").And.Contain("strings"));
        Assert.Throws<NotSupportedException>(() => TensorData.FromBytes(DataType.String, [1], new byte[1]));
    }

    [Test]
    public void A_payload_of_the_wrong_size_is_refused()
    {
        Assert.Throws<ArgumentException>(() => TensorData.FromBytes(DataType.Float, [2], new byte[7]));
        var bad = new TensorProto { DataType = (int)DataType.Float, Dims = { 4 }, RawData = ByteString.CopyFrom(new byte[8]) };
        Assert.Throws<InvalidModelException>(() => TensorData.FromProto(bad));
    }

    [Test]
    public void Typed_views_check_the_element_type()
    {
        TensorData t = TensorData.Create<float>([2], [1f, 2f]);
        Assert.That(t.AsFloatSpan().ToArray(), Is.EqualTo(new[] { 1f, 2f }));
        Assert.Throws<InvalidOperationException>(() => t.AsSpan<int>());
        Assert.That(t.ToDoubleArray(), Is.EqualTo(new[] { 1.0, 2.0 }));
        Assert.That(TensorData.Create<Half>([1], [(Half)0.5f]).ToFloatArray(), Is.EqualTo(new[] { 0.5f }));
        Assert.That(TensorData.Create<byte>([2], [3, 250]).ToFloatArray(), Is.EqualTo(new[] { 3f, 250f }));
    }
}
