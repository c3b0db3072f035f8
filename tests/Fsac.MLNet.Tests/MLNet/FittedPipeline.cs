using Fsac.MLNet;
using Microsoft.ML;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>A small fitted pipeline for save and load tests: LoadImages, then FewShotAnomaly on the fake backbone.</summary>
public static class FittedPipeline
{
    /// <summary>The fitted chain, its FewShotAnomaly transformer and the data it was fitted on.</summary>
    public static (ITransformer Model, FewShotAnomalyTransformer FewShot, IDataView Data) Fit(MLContext ml)
    {
        var data = TestData.View(ml, TestData.Cookies(normals: 2, anomalies: 0));
        var model = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
            {
                Backbone = FakeBackboneResolver.Name,
                BackboneResolver = new FakeBackboneResolver(new FakeCalls()),
                Shots = 2,
                Seed = 1,
            }))
            .Fit(data);
        return (model, model.LastTransformer, data);
    }
}
