namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Solves <c>A x = b</c> for the 5-point Laplacian on an <c>nx x ny</c> grid with zero Dirichlet values outside
/// (<c>(A x)_p = 4 x_p - sum of its neighbours inside the grid</c>), by conjugate gradients preconditioned with one
/// geometric multigrid V-cycle: red-black Gauss-Seidel smoothing (red then black before, black then red after, so
/// the preconditioner is symmetric), bilinear prolongation, its transpose as restriction, the same operator
/// rediscretised on each coarser grid and an exact banded Cholesky solve on the coarsest one.
/// A coarse grid keeps the fine cells with odd (0-based) index; when a fine side is even, the last coarse cell lies
/// half a coarse spacing from the boundary, and its diagonal gets 1 more (as the Galerkin product P^T A P gives in
/// 1-D), which keeps the coarse correction accurate for any grid size.
/// Vectors are padded to <c>(nx + 2) x (ny + 2)</c> with a zero ring so that stencils need no bounds checks.
/// A solver is made for one grid size and reused (NSA solves three channels per patch).
/// </summary>
internal sealed class PoissonSolver
{
    private readonly Level[] _levels;
    private readonly BandCholesky _coarsest;
    private readonly float[] _r;
    private readonly float[] _z;
    private readonly float[] _p;
    private readonly float[] _q;

    public PoissonSolver(int nx, int ny)
    {
        if (nx < 1 || ny < 1) throw new ArgumentOutOfRangeException(nameof(nx), $"A {nx}x{ny} grid has no unknowns.");
        var levels = new List<Level> { new(nx, ny, false, false) };
        while (levels[^1].Nx >= 3 && levels[^1].Ny >= 3)
            levels.Add(new Level(levels[^1].Nx / 2, levels[^1].Ny / 2, levels[^1].Nx % 2 == 0, levels[^1].Ny % 2 == 0));
        _levels = [.. levels];
        _coarsest = new BandCholesky(_levels[^1].Nx, _levels[^1].Ny, _levels[^1].Diagonal);
        int size = _levels[0].Z.Length;
        _r = new float[size];
        _z = new float[size];
        _p = new float[size];
        _q = new float[size];
    }

    public int Nx => _levels[0].Nx;

    public int Ny => _levels[0].Ny;

    /// <summary>
    /// Solves into <paramref name="x"/> (padded; its ring is left zero) until the residual norm is at most
    /// <paramref name="relativeTolerance"/> times that of <paramref name="b"/>.
    /// </summary>
    /// <returns>The number of iterations done.</returns>
    public int Solve(float[] b, float[] x, double relativeTolerance, int maxIterations)
    {
        Array.Clear(x);
        Array.Copy(b, _r, b.Length);
        double bNorm = Math.Sqrt(Dot(b, b));
        if (bNorm == 0) return 0;
        Precondition(_r, _z);
        Array.Copy(_z, _p, _z.Length);
        double rz = Dot(_r, _z);
        for (int it = 1; it <= maxIterations; it++)
        {
            Apply(_levels[0], _p, _q);
            double alpha = rz / Dot(_p, _q);
            double rr = 0;
            for (int k = 0; k < x.Length; k++)
            {
                x[k] += (float)(alpha * _p[k]);
                _r[k] -= (float)(alpha * _q[k]);
                rr += (double)_r[k] * _r[k];
            }
            if (Math.Sqrt(rr) <= relativeTolerance * bNorm) return it;
            Precondition(_r, _z);
            double rzNew = Dot(_r, _z);
            float beta = (float)(rzNew / rz);
            rz = rzNew;
            for (int k = 0; k < _p.Length; k++) _p[k] = _z[k] + beta * _p[k];
        }
        return maxIterations;
    }

    /// <summary>z = one V-cycle applied to r, from a zero start.</summary>
    private void Precondition(float[] r, float[] z)
    {
        Array.Copy(r, _levels[0].R, r.Length);
        VCycle(0);
        Array.Copy(_levels[0].Z, z, z.Length);
    }

    private void VCycle(int l)
    {
        var level = _levels[l];
        if (l == _levels.Length - 1)
        {
            _coarsest.Solve(level.R, level.Z);
            return;
        }
        Array.Clear(level.Z);
        Sweep(level, 0);
        Sweep(level, 1);
        Residual(level);
        var coarse = _levels[l + 1];
        Restrict(level, coarse);
        VCycle(l + 1);
        ProlongateAdd(coarse, level);
        Sweep(level, 1);
        Sweep(level, 0);
    }

    /// <summary>Gauss-Seidel on the cells of one colour ((i + j) % 2 == colour in padded coordinates).</summary>
    private static void Sweep(Level level, int colour)
    {
        int s = level.Stride;
        var z = level.Z;
        var r = level.R;
        var inverse = level.InverseDiagonal;
        for (int j = 1; j <= level.Ny; j++)
        {
            int row = j * s;
            for (int i = 1 + ((1 + j + colour) & 1); i <= level.Nx; i += 2)
            {
                int k = row + i;
                z[k] = (r[k] + z[k - 1] + z[k + 1] + z[k - s] + z[k + s]) * inverse[k];
            }
        }
    }

    /// <summary>level.T = level.R - A level.Z.</summary>
    private static void Residual(Level level)
    {
        int s = level.Stride;
        var z = level.Z;
        var t = level.T;
        var r = level.R;
        var d = level.Diagonal;
        for (int j = 1; j <= level.Ny; j++)
        {
            for (int k = j * s + 1, end = j * s + level.Nx; k <= end; k++)
                t[k] = r[k] - (d[k] * z[k] - z[k - 1] - z[k + 1] - z[k - s] - z[k + s]);
        }
    }

    private static void Apply(Level level, float[] u, float[] result)
    {
        int s = level.Stride;
        for (int j = 1; j <= level.Ny; j++)
        {
            for (int k = j * s + 1, end = j * s + level.Nx; k <= end; k++)
                result[k] = 4 * u[k] - u[k - 1] - u[k + 1] - u[k - s] - u[k + s];
        }
    }

    /// <summary>
    /// coarse.R = P^T fine.T: coarse cell (I, J) sits on fine cell (2I + 1, 2J + 1) (unpadded) and gathers it with
    /// weight 1, its 4 edge neighbours with 1/2 and its 4 corner neighbours with 1/4 (cells outside read the zero ring).
    /// </summary>
    private static void Restrict(Level fine, Level coarse)
    {
        int fs = fine.Stride, cs = coarse.Stride;
        var t = fine.T;
        for (int cj = 1; cj <= coarse.Ny; cj++)
        {
            int fRow = 2 * cj * fs; // padded fine row of the coarse cell: 2(J) + 1 + 1 with J = cj - 1
            for (int ci = 1; ci <= coarse.Nx; ci++)
            {
                int k = fRow + 2 * ci;
                float centre = t[k];
                float edges = t[k - 1] + t[k + 1] + t[k - fs] + t[k + fs];
                float corners = t[k - fs - 1] + t[k - fs + 1] + t[k + fs - 1] + t[k + fs + 1];
                coarse.R[cj * cs + ci] = centre + 0.5f * edges + 0.25f * corners;
            }
        }
    }

    /// <summary>
    /// fine.Z += P coarse.Z, bilinear: a fine cell on a coarse cell takes its value, one between two coarse cells (or
    /// a coarse cell and the boundary) their mean.
    /// </summary>
    private static void ProlongateAdd(Level coarse, Level fine)
    {
        int fs = fine.Stride, cs = coarse.Stride;
        var zc = coarse.Z;
        var zf = fine.Z;
        for (int j = 1; j <= fine.Ny; j++)
        {
            // Padded fine j: unpadded j - 1. Odd unpadded (even padded j) sits on coarse padded j / 2.
            int c0, c1;
            float wy;
            if ((j & 1) == 0) { c0 = c1 = j / 2; wy = 0.5f; }
            else { c0 = (j - 1) / 2; c1 = c0 + 1; wy = 0.5f; }
            int row0 = c0 * cs, row1 = c1 * cs, fRow = j * fs;
            for (int i = 1; i <= fine.Nx; i++)
            {
                float v;
                if ((i & 1) == 0)
                {
                    int c = i / 2;
                    v = wy * (zc[row0 + c] + zc[row1 + c]);
                }
                else
                {
                    int c = (i - 1) / 2;
                    v = 0.5f * wy * (zc[row0 + c] + zc[row0 + c + 1] + zc[row1 + c] + zc[row1 + c + 1]);
                }
                zf[fRow + i] += v;
            }
        }
    }

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int k = 0; k < a.Length; k++) s += (double)a[k] * b[k];
        return s;
    }

    private sealed class Level
    {
        public Level(int nx, int ny, bool nearRight, bool nearBottom)
        {
            Nx = nx;
            Ny = ny;
            Stride = nx + 2;
            int size = (nx + 2) * (ny + 2);
            Z = new float[size];
            R = new float[size];
            T = new float[size];
            Diagonal = new float[size];
            InverseDiagonal = new float[size];
            for (int j = 1; j <= ny; j++)
                for (int i = 1; i <= nx; i++)
                {
                    int k = j * Stride + i;
                    Diagonal[k] = 4 + (nearRight && i == nx ? 1 : 0) + (nearBottom && j == ny ? 1 : 0);
                    InverseDiagonal[k] = 1 / Diagonal[k];
                }
        }

        public float[] Diagonal { get; }

        public float[] InverseDiagonal { get; }

        public int Nx { get; }

        public int Ny { get; }

        public int Stride { get; }

        /// <summary>Solution (correction) on this level.</summary>
        public float[] Z { get; }

        /// <summary>Right-hand side on this level.</summary>
        public float[] R { get; }

        /// <summary>Residual scratch.</summary>
        public float[] T { get; }
    }
}
