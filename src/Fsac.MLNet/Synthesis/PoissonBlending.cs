namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Poisson image editing's seamless cloning, "normal clone" (Pérez et al., SIGGRAPH 2003), on one channel: inside a
/// region the result takes the source's gradients; on the region's border it equals the target. The discrete
/// Poisson equation (5-point Laplacian) is solved by multigrid-preconditioned conjugate gradients.
/// </summary>
internal static class PoissonBlending
{
    /// <summary>Relative residual at which the solver stops; far below the 0.5 a byte rounds away.</summary>
    internal const double Tolerance = 1e-5;

    /// <summary>Iteration cap; the preconditioned solver needs about ten.</summary>
    internal const int MaxIterations = 200;

    /// <summary>
    /// Blends <paramref name="source"/> into <paramref name="target"/>. Both are row-major planes of
    /// <paramref name="width"/> x <paramref name="height"/> values; the outermost ring of pixels is the boundary. The
    /// result equals the target on the ring, and inside solves
    /// <c>4 f(p) - sum over the 4 neighbours q of f(q) = 4 g(p) - sum of g(q)</c> (g the source), so the discrete
    /// Laplacian, and hence the gradients up to the boundary correction, of the result are those of the source.
    /// </summary>
    /// <param name="target">Target plane; its ring is the boundary condition.</param>
    /// <param name="source">Source plane whose gradients guide the interior; the same size.</param>
    /// <param name="width">Plane width including the ring, at least 3.</param>
    /// <param name="height">Plane height including the ring, at least 3.</param>
    /// <returns>The blended plane (new array, row-major, <paramref name="width"/> x <paramref name="height"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side is below 3 (no interior).</exception>
    /// <exception cref="ArgumentException">A plane is not <paramref name="width"/> x <paramref name="height"/> long.</exception>
    public static float[] Blend(ReadOnlySpan<float> target, ReadOnlySpan<float> source, int width, int height)
    {
        if (width < 3) throw new ArgumentOutOfRangeException(nameof(width), width, "The plane must be at least 3 wide (a ring around an interior).");
        if (height < 3) throw new ArgumentOutOfRangeException(nameof(height), height, "The plane must be at least 3 high (a ring around an interior).");
        long size = (long)width * height;
        if (target.Length != size) throw new ArgumentException($"The target plane has {target.Length} values; {width}x{height} needs {size}.", nameof(target));
        if (source.Length != size) throw new ArgumentException($"The source plane has {source.Length} values; {width}x{height} needs {size}.", nameof(source));
        var result = new float[size];
        new Workspace(width - 2, height - 2).Blend(target, source, result);
        return result;
    }

    /// <summary>The solver and buffers for one region size, reused over channels.</summary>
    internal sealed class Workspace(int nx, int ny)
    {
        private readonly PoissonSolver _solver = new(nx, ny);
        private readonly float[] _boundary = new float[(nx + 2) * (ny + 2)];
        private readonly float[] _b = new float[(nx + 2) * (ny + 2)];
        private readonly float[] _x = new float[(nx + 2) * (ny + 2)];

        /// <summary>
        /// Blends planes of (nx + 2) x (ny + 2) into <paramref name="result"/>. The correction h = f - g is harmonic
        /// inside with h = target - source on the ring, so only the ring enters the right-hand side.
        /// </summary>
        public void Blend(ReadOnlySpan<float> target, ReadOnlySpan<float> source, Span<float> result)
        {
            int nx = _solver.Nx, ny = _solver.Ny, s = nx + 2;
            for (int i = 0; i < s; i++)
            {
                _boundary[i] = target[i] - source[i];
                int last = (ny + 1) * s + i;
                _boundary[last] = target[last] - source[last];
            }
            for (int j = 1; j <= ny; j++)
            {
                _boundary[j * s] = target[j * s] - source[j * s];
                _boundary[j * s + nx + 1] = target[j * s + nx + 1] - source[j * s + nx + 1];
            }
            for (int j = 1; j <= ny; j++)
            {
                for (int k = j * s + 1, end = j * s + nx; k <= end; k++)
                    _b[k] = _boundary[k - 1] + _boundary[k + 1] + _boundary[k - s] + _boundary[k + s];
            }
            _solver.Solve(_b, _x, Tolerance, MaxIterations);
            target.CopyTo(result);
            for (int j = 1; j <= ny; j++)
            {
                for (int k = j * s + 1, end = j * s + nx; k <= end; k++)
                    result[k] = source[k] + _x[k];
            }
        }
    }
}
