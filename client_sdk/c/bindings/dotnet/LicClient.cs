// P/Invoke declarations for licclient (the C SDK) and a thin LicenseClient
// class over them. Compiles with Mono's mcs and with modern .NET (see README.md).
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Licclient
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct LcOptions
    {
        public IntPtr ServerUrl, Product, PublicKeys, StateDir, InstallationId;
        public IntPtr Clock;      // int64_t (*)(void *): IntPtr.Zero for the system clock
        public IntPtr ClockCtx;
        public int TimeoutMs;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct LcStatus
    {
        public int Valid;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 32)] public byte[] Code;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)] public byte[] LicenseId;
        public long ExpiresAt;
        public long OfflineUntil;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct LcError
    {
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 48)] public byte[] Code;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 512)] public byte[] Detail;
        public int HttpStatus;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct LcUpdate
    {
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 128)] public byte[] Version;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)] public byte[] Channel;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 16)] public byte[] Platform;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 16)] public byte[] Arch;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 65)] public byte[] Sha256;
        public long Size;
        public long ReleasedAt;
        public IntPtr Notes, DownloadUrl, Manifest;
    }

    internal static class Native
    {
        // "licclient" resolves to liblicclient.so / liblicclient.dylib / licclient.dll.
        private const string Lib = "licclient";

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_client_new(ref LcOptions opts, out IntPtr client, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lc_client_free(IntPtr client);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lc_installation_id(IntPtr client);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_activate_key(IntPtr client, byte[] licenseKey, ref LcStatus st, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_activate_password(IntPtr client, byte[] licenseId, byte[] password, ref LcStatus st, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_activate_company(IntPtr client, byte[] customerNumber, byte[] password, ref LcStatus st, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lc_status_get(IntPtr client, ref LcStatus st);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_checkin(IntPtr client, ref LcStatus st, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_deactivate(IntPtr client, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_has_feature(IntPtr client, byte[] name);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lc_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_check_update(IntPtr client, byte[] currentVersion, byte[] channel,
                                                   byte[] platform, byte[] arch, out IntPtr update, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lc_update_download(IntPtr update, byte[] path, ref LcError err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lc_update_free(IntPtr update);
    }

    /// <summary>What the offline status says (the C SDK's lc_status).</summary>
    public sealed class LicenseStatus
    {
        public bool Valid { get; internal set; }
        public string Code { get; internal set; }
        public string LicenseId { get; internal set; }
        public DateTimeOffset? ExpiresAt { get; internal set; }     // null: never
        public DateTimeOffset? OfflineUntil { get; internal set; }  // null: not activated
    }

    /// <summary>An update this licence may have (the C SDK's lc_update): its
    /// answer and UP1 manifest already verified. Dispose it when done.</summary>
    public sealed class Update : IDisposable
    {
        private IntPtr handle;

        public string Version { get; private set; }
        public string Channel { get; private set; }
        public string Platform { get; private set; }   // "": for every platform
        public string Arch { get; private set; }       // "": for every architecture
        public string Sha256 { get; private set; }
        public long Size { get; private set; }
        public DateTimeOffset ReleasedAt { get; private set; }
        public string Notes { get; private set; }      // null: none
        public string DownloadUrl { get; private set; }
        public string Manifest { get; private set; }

        internal Update(IntPtr native)
        {
            handle = native;
            var u = (LcUpdate)Marshal.PtrToStructure(native, typeof(LcUpdate));
            Version = LicenseClient.FromBytes(u.Version);
            Channel = LicenseClient.FromBytes(u.Channel);
            Platform = LicenseClient.FromBytes(u.Platform);
            Arch = LicenseClient.FromBytes(u.Arch);
            Sha256 = LicenseClient.FromBytes(u.Sha256);
            Size = u.Size;
            ReleasedAt = DateTimeOffset.FromUnixTimeSeconds(u.ReleasedAt);
            Notes = LicenseClient.FromUtf8(u.Notes);
            DownloadUrl = LicenseClient.FromUtf8(u.DownloadUrl);
            Manifest = LicenseClient.FromUtf8(u.Manifest);
        }

        /// <summary>Downloads to path, resuming path.part; the file appears
        /// under path only once its size and SHA-256 match the manifest (a
        /// wrong file: CERTIFICATE_INVALID, and nothing at path).</summary>
        public void Download(string path)
        {
            if (handle == IntPtr.Zero) throw new ObjectDisposedException("Update");
            var err = LicenseClient.NewError();
            if (Native.lc_update_download(handle, LicenseClient.Utf8(path), ref err) != 0)
                throw LicenseClient.Failure(err);
        }

        public void Dispose()
        {
            if (handle != IntPtr.Zero) Native.lc_update_free(handle);
            handle = IntPtr.Zero;
        }
    }

    /// <summary>A failed call: Code is the server's code, or NETWORK_ERROR,
    /// CERTIFICATE_INVALID, STATE_ERROR, INVALID_ARGUMENT.</summary>
    public sealed class LicenseException : Exception
    {
        public string Code { get; private set; }
        public int? HttpStatus { get; private set; }
        internal LicenseException(string code, string detail, int status) : base(detail)
        {
            Code = code;
            HttpStatus = status == 0 ? (int?)null : status;
        }
    }

    /// <summary>One product's licence on this machine. Use from one thread at a time.</summary>
    public sealed class LicenseClient : IDisposable
    {
        private IntPtr handle;

        public LicenseClient(string serverUrl, string product, string publicKeys,
                             string stateDir = null, string installationId = null, int timeoutMs = 0)
        {
            var strings = new[] { serverUrl, product, publicKeys, stateDir, installationId };
            var ptrs = new IntPtr[strings.Length];
            try
            {
                for (int i = 0; i < strings.Length; i++) ptrs[i] = Utf8Alloc(strings[i]);
                var opts = new LcOptions
                {
                    ServerUrl = ptrs[0], Product = ptrs[1], PublicKeys = ptrs[2],
                    StateDir = ptrs[3], InstallationId = ptrs[4], TimeoutMs = timeoutMs,
                };
                var err = NewError();
                if (Native.lc_client_new(ref opts, out handle, ref err) != 0) throw Failure(err);
            }
            finally
            {
                foreach (var p in ptrs) if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
            }
        }

        public static string Version { get { return FromUtf8(Native.lc_version()); } }

        public string InstallationId { get { return FromUtf8(Native.lc_installation_id(Handle)); } }

        public LicenseStatus Status()
        {
            var st = NewStatus();
            Native.lc_status_get(Handle, ref st);
            return Convert(st);
        }

        public LicenseStatus ActivateWithKey(string licenseKey)
        {
            var st = NewStatus();
            var err = NewError();
            if (Native.lc_activate_key(Handle, Utf8(licenseKey), ref st, ref err) != 0) throw Failure(err);
            return Convert(st);
        }

        public LicenseStatus ActivateWithPassword(string licenseId, string activationPassword)
        {
            var st = NewStatus();
            var err = NewError();
            if (Native.lc_activate_password(Handle, Utf8(licenseId), Utf8(activationPassword), ref st, ref err) != 0)
                throw Failure(err);
            return Convert(st);
        }

        public LicenseStatus ActivateWithCompany(string customerNumber, string companyPassword)
        {
            var st = NewStatus();
            var err = NewError();
            if (Native.lc_activate_company(Handle, Utf8(customerNumber), Utf8(companyPassword), ref st, ref err) != 0)
                throw Failure(err);
            return Convert(st);
        }

        public LicenseStatus Checkin()
        {
            var st = NewStatus();
            var err = NewError();
            if (Native.lc_checkin(Handle, ref st, ref err) != 0) throw Failure(err);
            return Convert(st);
        }

        public void Deactivate()
        {
            var err = NewError();
            if (Native.lc_deactivate(Handle, ref err) != 0) throw Failure(err);
        }

        public bool HasFeature(string name) { return Native.lc_has_feature(Handle, Utf8(name)) == 1; }

        /// <summary>The newest release this licence may have above currentVersion
        /// on channel (null: "stable") or a more stable one, for platform and
        /// arch ("windows", "macos", "linux"; "x86_64", "arm64"; null: only
        /// artifacts for every one); null when there is none.</summary>
        public Update CheckForUpdate(string currentVersion, string channel = null,
                                     string platform = null, string arch = null)
        {
            var err = NewError();
            IntPtr native;
            if (Native.lc_check_update(Handle, Utf8(currentVersion), Utf8(channel), Utf8(platform),
                                       Utf8(arch), out native, ref err) != 0)
                throw Failure(err);
            return native == IntPtr.Zero ? null : new Update(native);
        }

        public void Dispose()
        {
            if (handle != IntPtr.Zero) Native.lc_client_free(handle);
            handle = IntPtr.Zero;
        }

        private IntPtr Handle
        {
            get
            {
                if (handle == IntPtr.Zero) throw new ObjectDisposedException("LicenseClient");
                return handle;
            }
        }

        private static LcStatus NewStatus()
        {
            return new LcStatus { Code = new byte[32], LicenseId = new byte[64] };
        }

        internal static LcError NewError()
        {
            return new LcError { Code = new byte[48], Detail = new byte[512] };
        }

        private static LicenseStatus Convert(LcStatus st)
        {
            return new LicenseStatus
            {
                Valid = st.Valid == 1,
                Code = FromBytes(st.Code),
                LicenseId = FromBytes(st.LicenseId),
                ExpiresAt = st.ExpiresAt == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeSeconds(st.ExpiresAt),
                OfflineUntil = st.OfflineUntil == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeSeconds(st.OfflineUntil),
            };
        }

        internal static LicenseException Failure(LcError err)
        {
            return new LicenseException(FromBytes(err.Code), FromBytes(err.Detail), err.HttpStatus);
        }

        internal static byte[] Utf8(string s)
        {
            return s == null ? null : Encoding.UTF8.GetBytes(s + "\0");
        }

        private static IntPtr Utf8Alloc(string s)
        {
            if (s == null) return IntPtr.Zero;
            var bytes = Utf8(s);
            var p = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            return p;
        }

        internal static string FromBytes(byte[] b)
        {
            int n = Array.IndexOf(b, (byte)0);
            return Encoding.UTF8.GetString(b, 0, n < 0 ? b.Length : n);
        }

        internal static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            var bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }
    }
}
