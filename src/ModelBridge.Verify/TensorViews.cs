using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify;

/// <summary>Views of <see cref="TensorData"/> used by the parity checker: float spans and channel slices.</summary>
internal static class TensorViews
{
    /// <summary>The elements as floats: float tensors are read in place, others are converted.</summary>
    public static ReadOnlySpan<float> AsFloats(TensorData t)
    {
        if (t.ElementType == DataType.Float)
        {
            return MemoryMarshal.Cast<byte, float>(t.Bytes.Span);
        }
        if (t.ElementType == DataType.Float16)
        {
            var f = new float[t.ElementCount];
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(t.Bytes.Span), f);
            return f;
        }
        double[] d = t.ToDoubleArray();
        var result = new float[d.Length];
        for (int i = 0; i < d.Length; i++)
        {
            result[i] = (float)d[i];
        }
        return result;
    }

    /// <summary>The kept indices of <paramref name="slice"/> along its axis.</summary>
    /// <exception cref="ArgumentException">The axis or an index is out of range, or the type is packed (4-bit).</exception>
    public static TensorData Slice(TensorData t, ChannelSlice slice)
    {
        int rank = t.Dims.Length;
        int axis = slice.Axis < 0 ? slice.Axis + rank : slice.Axis;
        if (axis < 0 || axis >= rank)
        {
            throw new ArgumentException($"Slice axis {slice.Axis} is out of range for {t}.", nameof(slice));
        }
        int bits = DataTypes.BitsPerElement(t.ElementType);
        if (bits % 8 != 0)
        {
            throw new ArgumentException($"Cannot slice a packed {DataTypes.OnnxName(t.ElementType)} tensor.", nameof(slice));
        }
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++)
        {
            outer *= t.Dims[i];
        }
        for (int i = axis + 1; i < rank; i++)
        {
            inner *= t.Dims[i];
        }
        long extent = t.Dims[axis];
        int element = bits / 8;
        int run = checked((int)(inner * element));
        var bytes = new byte[outer * slice.Indices.Count * run];
        ReadOnlySpan<byte> src = t.Bytes.Span;
        int o = 0;
        for (long a = 0; a < outer; a++)
        {
            foreach (long index in slice.Indices)
            {
                if (index < 0 || index >= extent)
                {
                    throw new ArgumentException($"Slice index {index} is out of range for axis {axis} of {t}.", nameof(slice));
                }
                src.Slice(checked((int)(((a * extent) + index) * run)), run).CopyTo(bytes.AsSpan(o, run));
                o += run;
            }
        }
        long[] dims = [.. t.Dims];
        dims[axis] = slice.Indices.Count;
        return TensorData.FromBytes(t.ElementType, dims, bytes);
    }
}
