using TorchSharp;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// libtorch's default thread pool makes tiny trainings about 10x slower on a busy 2-core machine (threads spin-wait for
/// each other). Classes that train through <c>FffAutoTrainOptions</c>, which has no NumberOfThreads, run libtorch on one
/// thread from their ClassInitialize and restore the previous count in their ClassCleanup.
/// </summary>
internal static class OneTorchThread
{
    private static int s_before;
    private static int s_users;
    private static readonly object s_lock = new();

    public static void Enter()
    {
        lock (s_lock)
        {
            if (s_users++ == 0)
            {
                s_before = torch.get_num_threads();
                torch.set_num_threads(1);
            }
        }
    }

    public static void Exit()
    {
        lock (s_lock)
        {
            if (--s_users == 0)
                torch.set_num_threads(s_before);
        }
    }
}
