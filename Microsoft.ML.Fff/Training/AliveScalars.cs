using TorchSharp;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// Scalars that live for the whole process. TorchSharp turns numbers into temporary <see cref="Scalar"/> objects — also
/// the implicit <c>alpha = 1</c> of every tensor <c>+</c> and <c>-</c> — and in optimized builds the GC may finalize such
/// a temporary while libtorch still reads it (seen as a random "Expected false to be true" from <c>Scalar::toFloat</c>).
/// Torch code in this library therefore passes every scalar explicitly: these, a field, or a <c>using</c> local.
/// </summary>
internal static class AliveScalars
{
    public static readonly Scalar One = 1f.ToScalar();
    public static readonly Scalar MinusOne = (-1f).ToScalar();
    public static readonly Scalar Zero = 0f.ToScalar();
    public static readonly Scalar OneLong = 1L.ToScalar();
    public static readonly Scalar TwoLong = 2L.ToScalar();
}
