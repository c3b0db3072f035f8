using Microsoft.ML;
using Microsoft.ML.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Decodes the image column of a row's current position, whatever its form; a file that cannot be read or
/// decoded fails with the row, the column and the file named.
/// </summary>
internal sealed class ImageReader
{
    private readonly DataViewRow _row;
    private readonly string _columnName;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _path;
    private readonly ValueGetter<MLImage>? _image;
    private readonly ValueGetter<VBuffer<byte>>? _bytes;
    private ReadOnlyMemory<char> _pathValue;
    private MLImage _imageValue = null!;
    private VBuffer<byte> _bytesValue;

    public ImageReader(DataViewRow row, DataViewSchema.Column column, ImageSourceKind kind)
    {
        _row = row;
        _columnName = column.Name;
        switch (kind)
        {
            case ImageSourceKind.Path: _path = row.GetGetter<ReadOnlyMemory<char>>(column); break;
            case ImageSourceKind.MLImage: _image = row.GetGetter<MLImage>(column); break;
            default: _bytes = row.GetGetter<VBuffer<byte>>(column); break;
        }
    }

    /// <summary>The file of the last image read, when the column holds paths.</summary>
    public string? LastFile { get; private set; }

    /// <summary>Decodes the current row's image; the caller owns it.</summary>
    public Image<Rgb24> Read()
    {
        LastFile = null;
        try
        {
            if (_path is not null)
            {
                _path(ref _pathValue);
                LastFile = _pathValue.ToString();
                if (LastFile.Length == 0) throw Fail("the path is empty", null);
                return Image.Load<Rgb24>(LastFile);
            }
            if (_image is not null)
            {
                _image(ref _imageValue);
                return _imageValue is null ? throw Fail("the image is missing", null) : MLImageConversion.ToRgb24(_imageValue);
            }
            _bytes!(ref _bytesValue);
            return _bytesValue.Length == 0 ? throw Fail("the encoded image is empty", null) : Image.Load<Rgb24>(Dense(_bytesValue));
        }
        catch (Exception e) when (e is ImageFormatException or IOException or UnauthorizedAccessException)
        {
            throw Fail(e.Message, e);
        }
    }

    private static byte[] Dense(in VBuffer<byte> buffer)
    {
        var bytes = new byte[buffer.Length];
        buffer.CopyTo(bytes);
        return bytes;
    }

    private InvalidOperationException Fail(string problem, Exception? inner)
    {
        var file = LastFile is { Length: > 0 } ? $" (file '{LastFile}')" : "";
        return new InvalidOperationException(
            $"Cannot read the image of row {_row.Position} in column '{_columnName}'{file}: {problem}", inner);
    }
}
