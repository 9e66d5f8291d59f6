using System;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using TorchSharp;

namespace Microsoft.ML.Fff.Training;

/// <summary>Loads libtorch for training and turns every way that can fail into one clear .NET exception.</summary>
internal static partial class TorchRuntime
{
    public static torch.Device Initialize(FffDevice device)
    {
        bool passiveSet = PreferPassiveOpenMpThreads();
        try
        {
            return Load(device);
        }
        finally
        {
            // libtorch's own OpenMP runtime read the variable when it loaded; OpenMP runtimes loaded later in the process (LightGBM's
            // system libgomp) keep their defaults: LightGBM's fits of the tabular suite took 6.4 s with the variable set, 3.8 s
            // without (docs/decisions.md, "libtorch threads wait passively").
            if (passiveSet)
                RestorePassiveOpenMpThreads();
        }
    }

    private static torch.Device Load(FffDevice device)
    {
        KeepFreedMemoryForReuse();
        // Linux: ask the loader first. A library it refuses for a symbol version (libLibTorchSharp.so's GLIBCXX_3.4.32 on
        // Debian 12) would make TorchSharp print its trace to stdout and copy libtorch next to the app before failing the same way.
        DllNotFoundException? probe = OperatingSystem.IsLinux() ? TorchLoadFailure.ProbeNativeShim() : null;
        if (probe != null && TorchLoadFailure.IsMissingSymbolVersion(probe.Message))
            throw new InvalidOperationException(TorchLoadFailure.Describe(probe.Message), probe);
        try
        {
            // CPU first: it proves libtorch loads, so a CUDA request on a machine without one gets the device message below.
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
                                      or TypeInitializationException or NotSupportedException or InvalidOperationException)
        {
            // The loader's own reason when we have it; TorchSharp's first line otherwise. Its full trace stays in e.
            throw new InvalidOperationException(TorchLoadFailure.Describe(probe?.Message ?? e.GetBaseException().Message), e);
        }
        if (device == FffDevice.Cuda && !torch.cuda.is_available())
        {
            throw new InvalidOperationException(
                "Option Device is Cuda, but libtorch reports no usable CUDA device. Use FffDevice.Cpu, or reference a CUDA build of libtorch on a machine with an NVIDIA GPU.");
        }
        if (device == FffDevice.Cuda)
        {
            torch.InitializeDeviceType(DeviceType.CUDA);
            return torch.CUDA;
        }
        return torch.CPU;
    }

    // Set once libtorch's OpenMP runtime has read OMP_WAIT_POLICY (it reads it when it loads, once per process).
    private static int s_openMpConfigured;

    /// <summary>
    /// libtorch's OpenMP threads spin while they wait for work. On a machine whose cores are shared (CI, a busy server,
    /// parallel builds) the spinning threads steal the cores the work needs, and training slowed down 4-40x here
    /// (docs/decisions.md). Unless the user chose a policy or libtorch already loaded, this sets <c>OMP_WAIT_POLICY=PASSIVE</c>
    /// for libtorch's OpenMP runtime to read when it loads (only the native environment counts; the managed one is a copy) and
    /// returns whether it did; <see cref="RestorePassiveOpenMpThreads"/> then removes it once libtorch has loaded.
    /// </summary>
    private static bool PreferPassiveOpenMpThreads()
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_openMpConfigured) == 1 || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") != null
            || GetEnvironment("OMP_WAIT_POLICY") != IntPtr.Zero)
            return false;
        try
        {
            return SetEnvironment("OMP_WAIT_POLICY", "PASSIVE", overwrite: 0) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: leave the default policy.
            return false;
        }
    }

    /// <summary>Removes the variable <see cref="PreferPassiveOpenMpThreads"/> set; libtorch's runtime keeps the policy it read.</summary>
    private static void RestorePassiveOpenMpThreads()
    {
        Volatile.Write(ref s_openMpConfigured, 1);
        _ = UnsetEnvironment("OMP_WAIT_POLICY");
    }

    private static int s_mallocTuned;

    /// <summary>
    /// glibc's defaults give each batch-sized tensor (a 1,024-row batch's hidden layer is 1 MB) pages fresh from the kernel:
    /// blocks above the mmap threshold are mapped and unmapped on every allocation, and freed heap above the trim threshold is
    /// handed back, so the next step faults its pages in again. On a virtual machine those faults cost more than the arithmetic:
    /// one FFF training step took 1.6-4.5 ms from one process to the next, and 1.0 ms with the thresholds raised
    /// (docs/decisions.md "Freed memory kept for the next training step"). Unless the user tuned malloc, raise both once per
    /// process: tensors up to 32 MB come from the heap, and up to 256 MB of freed heap is kept for reuse.
    /// </summary>
    internal static void KeepFreedMemoryForReuse()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref s_mallocTuned, 1) == 1 || UserTunedMalloc())
            return;
        try
        {
            // mallopt returns 1 on success; a refusal leaves glibc's defaults, which are slower, not wrong.
            _ = MallocOption(MallocMmapThreshold, 32 << 20);
            _ = MallocOption(MallocTrimThreshold, 256 << 20);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no mallopt thresholds): nothing to tune.
        }
    }

    private static bool UserTunedMalloc() =>
        Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") != null
        || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") != null
        || (Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) ?? false);

    // glibc's malloc.h: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3.
    private const int MallocTrimThreshold = -1, MallocMmapThreshold = -3;

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallocOption(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);

    [LibraryImport("libc.so.6", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnvironment(string name);

    [LibraryImport("libc.so.6", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnvironment(string name);

    /// <summary>The native environment's <c>OMP_WAIT_POLICY</c>, or null (for tests: the policy is scoped to libtorch's load).</summary>
    internal static string? NativeOpenMpWaitPolicy()
        => OperatingSystem.IsLinux() ? Marshal.PtrToStringUTF8(GetEnvironment("OMP_WAIT_POLICY")) : null;
}
