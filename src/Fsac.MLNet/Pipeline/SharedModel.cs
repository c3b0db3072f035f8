using Fsac.MLNet.Classifiers;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// The fitted model of a <see cref="FewShotAnomalyTransformer"/>, shared by the transformer, its views and every
/// prediction engine made from it. ML.NET's <c>PredictionEngine</c> disposes its transformer when it is disposed,
/// while other engines and views still score with the same model; so the model counts its holders: the transformer
/// itself, plus one for each row mapper handed out (each prediction engine asks for one and disposes the transformer
/// once). The model is freed when the count reaches zero and the calls in flight have ended; after that every call
/// throws <see cref="ObjectDisposedException"/>. A count that never reaches zero (an engine made with
/// <c>OwnsTransformer = false</c>, or ML.NET's <c>TransformerChain</c>, which passes on only its first Dispose) leaves
/// the model to the garbage collector: memory is never freed under a call, at worst later than asked.
/// </summary>
internal sealed class SharedModel(IAnomalyClassifier model)
{
    private readonly LifetimeGuard lifetime = new(nameof(FewShotAnomalyTransformer));
    private readonly object gate = new();
    private int holders = 1;

    /// <summary>The model, for inspection; scoring goes through <see cref="Use{T}"/>.</summary>
    public IAnomalyClassifier Model => model;

    /// <summary>Runs <paramref name="call"/> on the model; the model is not freed while it runs.</summary>
    /// <exception cref="ObjectDisposedException">Every holder has released the model.</exception>
    public T Use<T>(Func<IAnomalyClassifier, T> call) => lifetime.Run(() => call(model));

    /// <summary>Adds a holder (a row mapper of a prediction engine).</summary>
    /// <exception cref="ObjectDisposedException">The model was already freed.</exception>
    public void AddHolder()
    {
        lock (gate)
        {
            if (holders == 0) throw new ObjectDisposedException(nameof(FewShotAnomalyTransformer));
            holders++;
        }
    }

    /// <summary>Removes a holder; the last one frees the model once the calls in flight end.</summary>
    public void Release()
    {
        lock (gate)
        {
            if (holders == 0 || --holders > 0) return;
        }
        lifetime.Dispose(model.Dispose);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the model has been freed.</summary>
    public void ThrowIfReleased()
    {
        if (lifetime.IsDisposed) throw new ObjectDisposedException(nameof(FewShotAnomalyTransformer));
    }
}
