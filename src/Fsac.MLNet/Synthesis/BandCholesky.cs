namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Exact solver for a 5-point operator (the given diagonal, -1 per neighbour, zero outside) on a small grid: a
/// banded Cholesky factorisation whose band is the grid's shorter side. Used on the coarsest multigrid level.
/// </summary>
internal sealed class BandCholesky
{
    private readonly int _nx;
    private readonly int _ny;
    private readonly int _band; // the shorter side
    private readonly int _n;
    private readonly double[] _l; // L(k, k - d) at k * (band + 1) + d
    private readonly double[] _y;
    private readonly float[] _diagonal;

    public BandCholesky(int nx, int ny, float[] diagonal)
    {
        _nx = nx;
        _ny = ny;
        _diagonal = diagonal;
        _band = Math.Min(nx, ny);
        _n = nx * ny;
        _l = new double[_n * (_band + 1)];
        _y = new double[_n];
        int m = _band, w = m + 1;
        for (int k = 0; k < _n; k++)
        {
            for (int d = Math.Min(k, m); d >= 0; d--)
            {
                int j = k - d;
                double s = Entry(k, j);
                for (int t = Math.Max(0, k - m); t < j; t++)
                    s -= _l[k * w + (k - t)] * _l[j * w + (j - t)];
                _l[k * w + d] = d > 0 ? s / _l[j * w] : Math.Sqrt(s);
            }
        }
    }

    /// <summary>Solves for <paramref name="x"/> given <paramref name="b"/>; both padded ((nx + 2) x (ny + 2), zero ring).</summary>
    public void Solve(float[] b, float[] x)
    {
        int m = _band, w = m + 1;
        for (int k = 0; k < _n; k++)
        {
            double s = b[Padded(k)];
            for (int t = Math.Max(0, k - m); t < k; t++) s -= _l[k * w + (k - t)] * _y[t];
            _y[k] = s / _l[k * w];
        }
        for (int k = _n - 1; k >= 0; k--)
        {
            double s = _y[k];
            for (int t = k + 1; t <= Math.Min(_n - 1, k + m); t++) s -= _l[t * w + (t - k)] * _y[t];
            _y[k] = s / _l[k * w];
        }
        for (int k = 0; k < _n; k++) x[Padded(k)] = (float)_y[k];
    }

    /// <summary>Matrix entry in the banded ordering: the shorter side runs fastest.</summary>
    private double Entry(int k, int j)
    {
        if (k == j) return _diagonal[Padded(k)];
        int d = k - j;
        if (d == _band) return -1;
        return d == 1 && k % _band != 0 ? -1 : 0;
    }

    /// <summary>Index in the padded grid of unknown <paramref name="k"/> of the banded ordering.</summary>
    private int Padded(int k)
    {
        int shortIndex = k % _band, longIndex = k / _band;
        (int i, int j) = _nx <= _ny ? (shortIndex, longIndex) : (longIndex, shortIndex);
        return (j + 1) * (_nx + 2) + i + 1;
    }
}
