using Fsac.MLNet;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Pipeline;
using Microsoft.ML.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>Knows one backbone, <see cref="Name"/>; its trainer fits <see cref="FakeAnomalyModel"/>s.</summary>
public sealed class FakeBackboneResolver(FakeCalls calls) : IBackboneResolver
{
    public const string Name = "fake";
    public const string Identity = "fake@sha256:0123";

    public IClassifierFactory CreateFactory(FewShotAnomalyOptions options)
    {
        calls.CountResolve();
        calls.LastOptions = options;
        return options.Backbone == Name
            ? new Trainer(calls)
            : throw new InvalidOperationException($"backbone '{options.Backbone}' is not available");
    }

    private sealed class Trainer(FakeCalls calls) : IClassifierFactory
    {
        public IAnomalyClassifier Fit(IReadOnlyList<Image<Rgb24>> normals, IChannel channel, CancellationToken cancellationToken)
        {
            calls.CountFit();
            cancellationToken.ThrowIfCancellationRequested();
            calls.LastShots = normals.Select(n => FakeAnomalyModel.Deviation(n, 0).Average() * 255f).ToList();
            var mean = calls.LastShots.Average();
            var unthresholded = new FakeAnomalyModel(Identity, mean, 0, new FakeCalls());
            var threshold = unthresholded.Score(normals).Max();
            channel.Info(MessageSensitivity.None, $"fake fit: mean brightness {mean}, threshold {threshold}");
            return new FakeAnomalyModel(Identity, mean, threshold, calls);
        }

        public IAnomalyClassifier Load(Stream stream)
        {
            using var reader = new BinaryReader(stream);
            return new FakeAnomalyModel(Identity, reader.ReadSingle(), reader.ReadSingle(), calls);
        }
    }
}
