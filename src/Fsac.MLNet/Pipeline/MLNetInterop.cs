using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// The two ML.NET internals that the catalog extensions (<c>mlContext.Transforms.FewShotAnomaly</c>,
/// <c>mlContext.Model.SaveWithFewShotAnomaly</c>/<c>LoadWithFewShotAnomaly</c>) need and ML.NET 5's public API does not
/// give, which ML.NET's own extension packages reach through InternalsVisibleTo: the <see cref="IHostEnvironment"/>
/// behind a catalog (a catalog exposes no public way to its context, yet logging must reach that context's <c>Log</c>
/// and its seed must drive sampling), and that environment's temp folder (where <c>Model.Save</c>/<c>Load</c> stage
/// entries). Both are read by reflection here, in one place, and fail with a message that names the member if a
/// future ML.NET moves or changes it. The <see cref="MLContext"/> extensions need neither: the context is the
/// environment, and its temp folder is the public <see cref="MLContext.TempFilePath"/>.
/// </summary>
internal static class MLNetInterop
{
    /// <summary>The internal property that leads from a catalog (<c>mlContext.Transforms</c>, <c>mlContext.Model</c>) to its context.</summary>
    public const string CatalogEnvironmentMember = "Microsoft.ML.Data.IInternalCatalog.Environment";

    /// <summary>The internal property that holds an environment's temp folder.</summary>
    public const string TempFolderMember = "Microsoft.ML.Runtime.IHostEnvironmentInternal.TempFilePath";

    private static readonly PropertyInfo? CatalogEnvironment =
        Property(typeof(MLContext).Assembly, CatalogEnvironmentMember, typeof(IHostEnvironment));

    private static readonly PropertyInfo? EnvironmentTempFolder =
        Property(typeof(IHostEnvironment).Assembly, TempFolderMember, typeof(string));

    /// <summary>The environment (an <c>MLContext</c>) that created <paramref name="catalog"/>.</summary>
    /// <exception cref="InvalidOperationException">This Microsoft.ML has no such member, or it does not lead to an environment.</exception>
    public static IHostEnvironment EnvironmentOf(object catalog) =>
        CatalogEnvironment?.GetValue(catalog) as IHostEnvironment ?? throw Incompatible(CatalogEnvironmentMember);

    /// <summary>
    /// The folder in which ML.NET's <c>Model.Save</c> and <c>Model.Load</c> on <paramref name="catalog"/> create their
    /// temp folder: the context's <see cref="MLContext.TempFilePath"/> (<see cref="Path.GetTempPath"/>, so $TMPDIR,
    /// when the context was created), or <see cref="Path.GetTempPath"/> now for an environment without one, as ML.NET does.
    /// </summary>
    /// <exception cref="InvalidOperationException">This Microsoft.ML lacks one of the two members.</exception>
    public static string TempFolderOf(object catalog)
    {
        var environment = EnvironmentOf(catalog);
        if (EnvironmentTempFolder is null) throw Incompatible(TempFolderMember);
        return EnvironmentTempFolder.DeclaringType!.IsInstanceOfType(environment)
            ? EnvironmentTempFolder.GetValue(environment) as string ?? Path.GetTempPath()
            : Path.GetTempPath();
    }

    /// <summary>The property named <paramref name="member"/> ("Namespace.Type.Property") of type <paramref name="type"/>, if it exists.</summary>
    private static PropertyInfo? Property(Assembly assembly, string member, Type type)
    {
        var dot = member.LastIndexOf('.');
        return assembly.GetType(member[..dot])?.GetProperty(member[(dot + 1)..], type);
    }

    private static InvalidOperationException Incompatible(string member) => new(
        $"Fsac.MLNet cannot reach {member} in this version of Microsoft.ML " +
        $"({typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}); " +
        "it was built against Microsoft.ML 5.0. " +
        "The MLContext overloads (mlContext.FewShotAnomaly, mlContext.SaveWithFewShotAnomaly, " +
        "mlContext.LoadWithFewShotAnomaly) do not need it.");
}
