using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Fsac.MLNet.Pipeline;

/// <summary>Checks the image and label columns, with ML.NET's wording for a missing column or a wrong type.</summary>
internal static class SchemaValidation
{
    private const string ExpectedImage = "String (file path), MLImage or Vector<Byte> (encoded image)";

    /// <summary>The image column and its form; throws when it is missing or of another type.</summary>
    public static (DataViewSchema.Column Column, ImageSourceKind Kind) RequireImage(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw Missing(name, "image");
        var kind = column.Type switch
        {
            TextDataViewType => ImageSourceKind.Path,
            ImageDataViewType => ImageSourceKind.MLImage,
            VectorDataViewType v when v.ItemType == NumberDataViewType.Byte => ImageSourceKind.EncodedBytes,
            _ => (ImageSourceKind?)null,
        };
        return (column, kind ?? throw Mismatch(name, ExpectedImage, Describe(column.Type)));
    }

    /// <summary>The Boolean label column, or null when no name is given or the column is absent.</summary>
    public static DataViewSchema.Column? OptionalLabel(DataViewSchema schema, string? name)
    {
        if (name is null || schema.GetColumnOrNull(name) is not { } column) return null;
        if (column.Type != BooleanDataViewType.Instance) throw Mismatch(name, "Boolean", Describe(column.Type));
        return column;
    }

    /// <summary>The same checks on a schema shape (no data, no model).</summary>
    public static void Check(SchemaShape shape, string imageName, string? labelName)
    {
        var image = Find(shape, imageName) ?? throw Missing(imageName, "image");
        var isImage = image.Kind == SchemaShape.Column.VectorKind.Scalar
            ? image.ItemType is TextDataViewType or ImageDataViewType
            : image.ItemType == NumberDataViewType.Byte;
        if (!isImage) throw Mismatch(imageName, ExpectedImage, Describe(image));
        if (labelName is not null && Find(shape, labelName) is { } label
            && (label.Kind != SchemaShape.Column.VectorKind.Scalar || label.ItemType != BooleanDataViewType.Instance))
            throw Mismatch(labelName, "Boolean", Describe(label));
    }

    private static SchemaShape.Column? Find(SchemaShape shape, string name) =>
        shape.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();

    private static string Describe(SchemaShape.Column c) => c.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => Describe(c.ItemType),
        _ => $"Vector<{Describe(c.ItemType)}>",
    };

    private static string Describe(DataViewType type) => type.ToString() ?? type.RawType.Name;

    private static ArgumentOutOfRangeException Missing(string name, string role) =>
        new("inputSchema", $"Could not find input column '{name}' (the {role} column of FewShotAnomaly).");

    private static ArgumentOutOfRangeException Mismatch(string name, string expected, string got) =>
        new("inputSchema", $"Schema mismatch for input column '{name}': expected {expected}, got {got}.");
}
