namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Keeps native memory from being freed under a running call: each call holds a lease while it runs, and
/// <see cref="Dispose"/> blocks new leases, waits for the leases in flight to end, then runs the release once. A lease
/// asked for after disposal throws <see cref="ObjectDisposedException"/> naming the object.
/// </summary>
internal sealed class LifetimeGuard(string objectName)
{
    private readonly object gate = new();
    private int inFlight;
    private bool disposed;

    /// <summary>True once <see cref="Dispose"/> has started.</summary>
    public bool IsDisposed
    {
        get
        {
            lock (gate) return disposed;
        }
    }

    /// <summary>Runs <paramref name="call"/> under a lease.</summary>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    public T Run<T>(Func<T> call)
    {
        Enter();
        try
        {
            return call();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Blocks new leases, waits for those in flight, then calls <paramref name="release"/>; later calls do nothing.</summary>
    public void Dispose(Action release)
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            while (inFlight > 0) Monitor.Wait(gate);
        }
        release();
    }

    private void Enter()
    {
        lock (gate)
        {
            if (disposed) throw new ObjectDisposedException(objectName);
            inFlight++;
        }
    }

    private void Exit()
    {
        lock (gate)
        {
            if (--inFlight == 0) Monitor.PulseAll(gate);
        }
    }
}
