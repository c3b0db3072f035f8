using Microsoft.ML;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// ML.NET's <c>Model.Save</c> and <c>Model.Load</c> stage every entry through a folder they create under the context's
/// temp folder (<see cref="MLContext.TempFilePath"/>, from $TMPDIR when the context was created), and fail with a bare
/// "Could not find file" when that folder cannot be created or written. The ML.NET stages of a pipeline archive go
/// through them, so the temp folder is created here first, or its problem is named.
/// </summary>
internal static class MLNetTempFolder
{
    /// <summary>
    /// <paramref name="context"/>'s temp folder: its <see cref="MLContext.TempFilePath"/>, or <see cref="Path.GetTempPath"/>
    /// now when that is unset, as ML.NET does (<see cref="MLNetInterop.TempFolderOf"/> finds the same from a catalog).
    /// </summary>
    public static string Of(MLContext context) => context.TempFilePath ?? Path.GetTempPath();

    /// <summary>Creates the temp folder <paramref name="folder"/> if it is missing and checks that a folder can be made in it.</summary>
    /// <exception cref="IOException">The temp folder cannot be created or written; the message names it and how to move it.</exception>
    public static void Ensure(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Directory.CreateDirectory(Path.Combine(folder, $"fsac-{Environment.ProcessId}-{Guid.NewGuid():N}"));
            probe.Delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException(
                $"ML.NET saves and loads models through a folder in its temp folder '{folder}' (MLContext.TempFilePath, " +
                $"from TMPDIR when the MLContext was created), which cannot be created or written: {e.Message} " +
                "Point TMPDIR, or MLContext.TempFilePath, at a writable folder.", e);
        }
    }
}
