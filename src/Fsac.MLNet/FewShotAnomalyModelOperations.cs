using Fsac.MLNet;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Files;
using Fsac.MLNet.Pipeline;
using Microsoft.ML.Data;

namespace Microsoft.ML;

/// <summary>
/// Saving and loading pipelines that contain a <see cref="FewShotAnomalyTransformer"/>.
/// </summary>
/// <remarks>
/// ML.NET's own <c>mlContext.Model.Save</c>/<c>Load</c> can only restore transformers registered through its
/// internal model-loading contract (<c>ModelLoadContext</c>, <c>[LoadableClass]</c>), which a package outside
/// Microsoft's assemblies cannot join; so <c>Model.Save</c> on a chain containing this transformer throws
/// <see cref="NotSupportedException"/> pointing here. These methods write one zip archive: every run of ordinary
/// ML.NET transformers is stored by ML.NET's own <c>Model.Save</c> (so their format stays ML.NET's), and each
/// FewShotAnomaly transformer beside them as its options, backbone name and <see cref="IAnomalyClassifier.Save"/> output.
/// Loading reads the stages back in order (ML.NET's <c>Model.Load</c> for the ML.NET runs, the backbone resolver for
/// the few-shot models) and rebuilds one flat <see cref="TransformerChain{TLastTransformer}"/>. The backbone's weights
/// are not in the archive, only its name: loading fails with a clear message when it is not available.
/// <para>
/// ML.NET stages its entries in the context's temp folder. The <see cref="MLContext"/> overloads
/// (<c>mlContext.SaveWithFewShotAnomaly</c>) read it through ML.NET's public API (<see cref="MLContext.TempFilePath"/>);
/// a catalog does not expose its context publicly, so the <see cref="ModelOperationsCatalog"/> overloads
/// (<c>mlContext.Model.SaveWithFewShotAnomaly</c>) reach it through ML.NET internals, by reflection, and in a future
/// Microsoft.ML that moves them throw <see cref="InvalidOperationException"/> naming the member.
/// </para>
/// </remarks>
public static class FewShotAnomalyModelOperations
{
    /// <summary>
    /// Saves <paramref name="model"/> (a chain, possibly nested, or a single transformer) and its input schema to a
    /// file, atomically: the archive is written to a temp file beside <paramref name="filePath"/> and renamed over it,
    /// so a save that fails (a disposed transformer, an ML.NET transformer that cannot be saved, a full disk) leaves
    /// no file, or the old one as it was (ML.NET's <c>Model.Save(model, schema, path)</c> creates the file before it
    /// knows whether the model can be saved).
    /// </summary>
    /// <param name="context">The context whose <c>Model</c> saves the ML.NET stages, through its <see cref="MLContext.TempFilePath"/>.</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">Schema of the data the pipeline is applied to (from <c>IDataView.Schema</c>).</param>
    /// <param name="filePath">Archive to create or replace.</param>
    /// <exception cref="ObjectDisposedException">A FewShotAnomaly transformer of the pipeline was disposed.</exception>
    /// <exception cref="IOException">The folder cannot be written, or ML.NET's temp folder cannot be created or written.</exception>
    public static void SaveWithFewShotAnomaly(this MLContext context, ITransformer model, DataViewSchema inputSchema,
        string filePath)
    {
        ArgumentNullException.ThrowIfNull(context);
        SaveToFile(context.Model, MLNetTempFolder.Of(context), model, inputSchema, filePath);
    }

    /// <summary>
    /// Saves <paramref name="model"/> and its input schema to a stream (left open). Every stage is serialized before
    /// the first byte is written, so a stage that cannot be saved leaves the stream as it was; a failure while
    /// writing (a full disk) can still leave part of an archive: save to a path to have the file replaced atomically.
    /// </summary>
    /// <param name="context">The context whose <c>Model</c> saves the ML.NET stages, through its <see cref="MLContext.TempFilePath"/>.</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">Schema of the data the pipeline is applied to.</param>
    /// <param name="stream">Writable stream that receives the archive.</param>
    /// <exception cref="ObjectDisposedException">A FewShotAnomaly transformer of the pipeline was disposed.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static void SaveWithFewShotAnomaly(this MLContext context, ITransformer model, DataViewSchema inputSchema,
        Stream stream)
    {
        ArgumentNullException.ThrowIfNull(context);
        SaveToStream(context.Model, MLNetTempFolder.Of(context), model, inputSchema, stream);
    }

    /// <summary>Loads a pipeline saved by <c>SaveWithFewShotAnomaly</c> from a file.</summary>
    /// <param name="context">The context to load into; its <c>Model</c> loads the ML.NET stages, through its <see cref="MLContext.TempFilePath"/>.</param>
    /// <param name="filePath">The archive.</param>
    /// <param name="inputSchema">The input schema it was saved with.</param>
    /// <param name="backboneResolver">Provides the backbones the few-shot models were fitted on; null uses <see cref="BuiltInBackboneResolver"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The path is a folder, empty or not a regular file (a FIFO, a device).</exception>
    /// <exception cref="InvalidDataException">The file is not such an archive, or an entry is missing, too large or corrupt.</exception>
    /// <exception cref="InvalidOperationException">A backbone is not available, or is not the one the model was fitted on.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static TransformerChain<ITransformer> LoadWithFewShotAnomaly(this MLContext context, string filePath,
        out DataViewSchema inputSchema, IBackboneResolver? backboneResolver = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        return LoadFromFile(context.Model, MLNetTempFolder.Of(context), filePath, backboneResolver, out inputSchema);
    }

    /// <summary>Loads a pipeline saved by <c>SaveWithFewShotAnomaly</c> from a stream.</summary>
    /// <param name="context">The context to load into; its <c>Model</c> loads the ML.NET stages, through its <see cref="MLContext.TempFilePath"/>.</param>
    /// <param name="stream">The archive.</param>
    /// <param name="inputSchema">The input schema it was saved with.</param>
    /// <param name="backboneResolver">Provides the backbones the few-shot models were fitted on; null uses <see cref="BuiltInBackboneResolver"/>.</param>
    /// <exception cref="InvalidDataException">The stream is not such an archive, or an entry is missing, too large or corrupt.</exception>
    /// <exception cref="InvalidOperationException">A backbone is not available, or is not the one the model was fitted on.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static TransformerChain<ITransformer> LoadWithFewShotAnomaly(this MLContext context, Stream stream,
        out DataViewSchema inputSchema, IBackboneResolver? backboneResolver = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        return LoadFromStream(context.Model, MLNetTempFolder.Of(context), stream, backboneResolver, out inputSchema);
    }

    /// <summary>
    /// <see cref="SaveWithFewShotAnomaly(MLContext, ITransformer, DataViewSchema, string)"/> through the context's model
    /// catalog, whose temp folder is reached by reflection (see the class's remarks).
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">Schema of the data the pipeline is applied to (from <c>IDataView.Schema</c>).</param>
    /// <param name="filePath">Archive to create or replace.</param>
    /// <exception cref="ObjectDisposedException">A FewShotAnomaly transformer of the pipeline was disposed.</exception>
    /// <exception cref="IOException">The folder cannot be written, or ML.NET's temp folder cannot be created or written.</exception>
    /// <exception cref="InvalidOperationException">This Microsoft.ML does not expose the context's temp folder where Fsac.MLNet looks for it.</exception>
    public static void SaveWithFewShotAnomaly(this ModelOperationsCatalog catalog, ITransformer model,
        DataViewSchema inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        SaveToFile(catalog, MLNetInterop.TempFolderOf(catalog), model, inputSchema, filePath);
    }

    /// <summary>
    /// <see cref="SaveWithFewShotAnomaly(MLContext, ITransformer, DataViewSchema, Stream)"/> through the context's model
    /// catalog, whose temp folder is reached by reflection (see the class's remarks).
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">Schema of the data the pipeline is applied to.</param>
    /// <param name="stream">Writable stream that receives the archive.</param>
    /// <exception cref="ObjectDisposedException">A FewShotAnomaly transformer of the pipeline was disposed.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    /// <exception cref="InvalidOperationException">This Microsoft.ML does not expose the context's temp folder where Fsac.MLNet looks for it.</exception>
    public static void SaveWithFewShotAnomaly(this ModelOperationsCatalog catalog, ITransformer model,
        DataViewSchema inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        SaveToStream(catalog, MLNetInterop.TempFolderOf(catalog), model, inputSchema, stream);
    }

    /// <summary>
    /// <see cref="LoadWithFewShotAnomaly(MLContext, string, out DataViewSchema, IBackboneResolver?)"/> through the
    /// context's model catalog, whose temp folder is reached by reflection (see the class's remarks).
    /// </summary>
    /// <param name="catalog">The model operations catalog of the context to load into.</param>
    /// <param name="filePath">The archive.</param>
    /// <param name="inputSchema">The input schema it was saved with.</param>
    /// <param name="backboneResolver">Provides the backbones the few-shot models were fitted on; null uses <see cref="BuiltInBackboneResolver"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The path is a folder, empty or not a regular file (a FIFO, a device).</exception>
    /// <exception cref="InvalidDataException">The file is not such an archive, or an entry is missing, too large or corrupt.</exception>
    /// <exception cref="InvalidOperationException">A backbone is not available, or is not the one the model was fitted on;
    /// or this Microsoft.ML does not expose the context's temp folder where Fsac.MLNet looks for it.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static TransformerChain<ITransformer> LoadWithFewShotAnomaly(this ModelOperationsCatalog catalog, string filePath,
        out DataViewSchema inputSchema, IBackboneResolver? backboneResolver = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return LoadFromFile(catalog, MLNetInterop.TempFolderOf(catalog), filePath, backboneResolver, out inputSchema);
    }

    /// <summary>
    /// <see cref="LoadWithFewShotAnomaly(MLContext, Stream, out DataViewSchema, IBackboneResolver?)"/> through the
    /// context's model catalog, whose temp folder is reached by reflection (see the class's remarks).
    /// </summary>
    /// <param name="catalog">The model operations catalog of the context to load into.</param>
    /// <param name="stream">The archive.</param>
    /// <param name="inputSchema">The input schema it was saved with.</param>
    /// <param name="backboneResolver">Provides the backbones the few-shot models were fitted on; null uses <see cref="BuiltInBackboneResolver"/>.</param>
    /// <exception cref="InvalidDataException">The stream is not such an archive, or an entry is missing, too large or corrupt.</exception>
    /// <exception cref="InvalidOperationException">A backbone is not available, or is not the one the model was fitted on;
    /// or this Microsoft.ML does not expose the context's temp folder where Fsac.MLNet looks for it.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static TransformerChain<ITransformer> LoadWithFewShotAnomaly(this ModelOperationsCatalog catalog, Stream stream,
        out DataViewSchema inputSchema, IBackboneResolver? backboneResolver = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return LoadFromStream(catalog, MLNetInterop.TempFolderOf(catalog), stream, backboneResolver, out inputSchema);
    }

    private static void SaveToFile(ModelOperationsCatalog catalog, string tempFolder, ITransformer model,
        DataViewSchema inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentNullException.ThrowIfNull(filePath);
        AtomicFile.Write(filePath, file => PipelineArchive.Save(catalog, tempFolder, model, inputSchema, file));
    }

    private static void SaveToStream(ModelOperationsCatalog catalog, string tempFolder, ITransformer model,
        DataViewSchema inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentNullException.ThrowIfNull(stream);
        PipelineArchive.Save(catalog, tempFolder, model, inputSchema, stream);
    }

    private static TransformerChain<ITransformer> LoadFromFile(ModelOperationsCatalog catalog, string tempFolder,
        string filePath, IBackboneResolver? backboneResolver, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        using var file = RegularFile.Open(filePath, "pipeline file");
        return PipelineArchive.Load(catalog, tempFolder, file, filePath, backboneResolver, out inputSchema);
    }

    private static TransformerChain<ITransformer> LoadFromStream(ModelOperationsCatalog catalog, string tempFolder,
        Stream stream, IBackboneResolver? backboneResolver, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return PipelineArchive.Load(catalog, tempFolder, stream, "pipeline stream", backboneResolver, out inputSchema);
    }
}
