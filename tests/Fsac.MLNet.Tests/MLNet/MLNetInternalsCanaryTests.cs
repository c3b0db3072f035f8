using Fsac.MLNet;
using Fsac.MLNet.Pipeline;
using System.Reflection;
using Fsac.MLNet.Tests.Checkpoints;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// Canary for the ML.NET internals that the catalog overloads (<c>mlContext.Transforms.FewShotAnomaly</c>,
/// <c>mlContext.Model.SaveWithFewShotAnomaly</c>/<c>LoadWithFewShotAnomaly</c>) read by reflection, in the library's
/// <c>Pipeline.MLNetInterop</c>: each member it names must exist in the referenced Microsoft.ML and still lead to the
/// catalog's context and to that context's temp folder. After a Microsoft.ML update these fail first, naming the member.
/// </summary>
[TestClass]
public sealed class MLNetInternalsCanaryTests
{
    private static readonly string MLNetVersion =
        typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    /// <summary>The value of MLNetInterop's constant <paramref name="name"/>: an internal member, "Namespace.Type.Property".</summary>
    private static string Member(string name) => (string)Interop.GetField(name)!.GetRawConstantValue()!;

    private static Type Interop => typeof(FewShotAnomalyEstimator).Assembly.GetType("Fsac.MLNet.Pipeline.MLNetInterop", throwOnError: true)!;

    private static Exception? Thrown(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [TestMethod]
    public void EveryInternalReadByReflectionExistsInTheReferencedMicrosoftML()
    {
        var members = Interop.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.EndsWith("Member", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.IsNotEmpty(members, "MLNetInterop names the internals it reads in constants ending in 'Member'");

        Assembly[] mlnet = [typeof(MLContext).Assembly, typeof(IHostEnvironment).Assembly];
        var missing = members.Where(member =>
        {
            var dot = member.LastIndexOf('.');
            var type = mlnet.Select(a => a.GetType(member[..dot])).FirstOrDefault(t => t is not null);
            return type?.GetProperty(member[(dot + 1)..]) is null;
        }).ToList();

        Assert.IsEmpty(missing,
            $"Microsoft.ML {MLNetVersion} no longer has {string.Join(", ", missing)}, which Fsac.MLNet's catalog overloads " +
            "read by reflection (Pipeline/MLNetInterop.cs); the MLContext overloads do not need it.");
    }

    [TestMethod]
    public void ATransformsCatalogStillLeadsToItsContext()
    {
        var member = Member("CatalogEnvironmentMember");
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var options = new FewShotAnomalyOptions
        {
            ImageColumnName = nameof(ImageRow.ImagePath),
            Backbone = FakeBackboneResolver.Name,
            BackboneResolver = new FakeBackboneResolver(new FakeCalls()),
            Shots = 1,
        };

        FewShotAnomalyTransformer? transformer = null;
        var error = Thrown(() => transformer = ml.Transforms.FewShotAnomaly(options).Fit(TestData.View(ml, TestData.Cookies(1, 0))));

        Assert.IsNull(error, $"{member} (Microsoft.ML {MLNetVersion}): {error}");
        transformer!.Dispose();
        Assert.IsTrue(messages.Any(m => m.Contains("fake fit")),
            $"{member} (Microsoft.ML {MLNetVersion}) no longer leads to the catalog's MLContext: the fit's log did not reach it");
    }

    [TestMethod]
    public void AModelCatalogStillLeadsToItsContextsTempFolder()
    {
        var member = Member("TempFolderMember");
        using var folder = new TempDir();
        File.WriteAllText(folder.File("file"), "");
        var uncreatable = Path.Combine(folder.File("file"), "tmp");
        var ml = new MLContext(seed: 1) { TempFilePath = uncreatable };
        var (model, _, data) = FittedPipeline.Fit(ml);

        var error = Thrown(() => ml.Model.SaveWithFewShotAnomaly(model, data.Schema, new MemoryStream()));

        Assert.IsTrue(error is IOException && error.Message.Contains($"'{uncreatable}'"),
            $"{member} (Microsoft.ML {MLNetVersion}) no longer gives the context's TempFilePath: saving with an " +
            $"uncreatable TempFilePath must fail naming it, got {error?.ToString() ?? "no error"}");
    }
}
