using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// The things a third-party ML.NET component cannot reach through ML.NET 5's public API, which ML.NET's own
/// extension packages reach through InternalsVisibleTo: the <see cref="IHostEnvironment"/> behind a catalog
/// (<c>context.Transforms</c> exposes no public way to it, yet logging must reach that context's <c>Log</c> and its
/// seed must drive sampling), that environment's temp folder (where <c>Model.Save</c>/<c>Load</c> stage entries),
/// and the constructor of <see cref="SchemaShape.Column"/> (an estimator must return shapes for the columns it adds).
/// All are read by reflection here, in one place, and fail with a clear message if a future ML.NET moves them.
/// </summary>
internal static class MLNetInterop
{
    private static readonly PropertyInfo? CatalogEnvironment = typeof(MLContext).Assembly
        .GetType("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment");

    private static readonly ConstructorInfo? ShapeColumnConstructor = typeof(SchemaShape.Column).GetConstructor(
        BindingFlags.Instance | BindingFlags.NonPublic,
        [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)]);

    private static readonly PropertyInfo? EnvironmentTempFolder = typeof(IHostEnvironment).Assembly
        .GetType("Microsoft.ML.Runtime.IHostEnvironmentInternal")?.GetProperty("TempFilePath");

    private static readonly SchemaShape NoAnnotations = new([]);

    /// <summary>The environment (an <c>MLContext</c>) that created <paramref name="catalog"/>.</summary>
    public static IHostEnvironment EnvironmentOf(object catalog) =>
        CatalogEnvironment?.GetValue(catalog) as IHostEnvironment ?? throw Incompatible("a catalog's environment");

    /// <summary>
    /// The folder in which ML.NET's <c>Model.Save</c> and <c>Model.Load</c> on <paramref name="catalog"/> create their
    /// temp folder: the context's <see cref="MLContext.TempFilePath"/> (<see cref="Path.GetTempPath"/>, so $TMPDIR,
    /// when the context was created), or <see cref="Path.GetTempPath"/> now for an environment without one, as ML.NET does.
    /// </summary>
    public static string TempFolderOf(object catalog)
    {
        var environment = EnvironmentOf(catalog);
        if (EnvironmentTempFolder is null) throw Incompatible("an environment's temp folder");
        return EnvironmentTempFolder.DeclaringType!.IsInstanceOfType(environment)
            ? EnvironmentTempFolder.GetValue(environment) as string ?? Path.GetTempPath()
            : Path.GetTempPath();
    }

    /// <summary>A schema-shape column without annotations.</summary>
    public static SchemaShape.Column ShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType) =>
        ShapeColumnConstructor?.Invoke([name, kind, itemType, false, NoAnnotations]) as SchemaShape.Column?
        ?? throw Incompatible("SchemaShape.Column's constructor");

    private static InvalidOperationException Incompatible(string what) => new(
        $"Fsac.MLNet cannot reach {what} in this version of Microsoft.ML " +
        $"({typeof(MLContext).Assembly.GetName().Version}); it was built against Microsoft.ML 5.0.");
}
