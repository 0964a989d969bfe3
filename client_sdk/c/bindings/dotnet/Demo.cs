// A tiny C# product over the binding:
//   Demo SERVER PRODUCT KEYS STATE_DIR INSTALLATION_ID [LICENSE_KEY] [--update CURRENT_VERSION DIR]
// activates when a key is given, then prints one line: CODE LICENSE_ID FEATURE(export) VERSION;
// with --update, checks for a newer version (stable, this machine's platform) and downloads it
// into DIR, verified, printing "A new version is available: V" and "Downloaded PATH".
using System;
using Licclient;

public static class Demo
{
    public static int Main(string[] args)
    {
        if (args.Length < 5)
        {
            Console.Error.WriteLine(
                "usage: Demo SERVER PRODUCT KEYS STATE_DIR INSTALLATION_ID [LICENSE_KEY] [--update CURRENT_VERSION DIR]");
            return 2;
        }
        int update = Array.IndexOf(args, "--update");
        if (update >= 0 && (update < 5 || update + 2 >= args.Length))
        {
            Console.Error.WriteLine("--update needs CURRENT_VERSION and DIR");
            return 2;
        }
        int plain = update >= 0 ? update : args.Length;
        try
        {
            using (var client = new LicenseClient(args[0], args[1], args[2], args[3], args[4], 5000))
            {
                if (plain > 5) client.ActivateWithKey(args[5]);
                var status = client.Status();
                Console.WriteLine("{0} {1} {2} {3}", status.Code, status.LicenseId,
                                  client.HasFeature("export") ? "export" : "-", LicenseClient.Version);
                if (update >= 0) return CheckForUpdate(client, args[update + 1], args[update + 2]);
                return 0;
            }
        }
        catch (LicenseException e)
        {
            Console.WriteLine("ERROR {0} {1}: {2}", e.Code, e.HttpStatus, e.Message);
            return 1;
        }
    }

    private static string ThisPlatform()
    {
        switch (Environment.OSVersion.Platform)
        {
            case PlatformID.Win32NT: return "windows";
            case PlatformID.MacOSX: return "macos";
            default: return "linux";
        }
    }

    private static int CheckForUpdate(LicenseClient client, string current, string dir)
    {
        using (var update = client.CheckForUpdate(current, "stable", ThisPlatform()))
        {
            if (update == null)
            {
                Console.WriteLine("You have the newest version.");
                return 0;
            }
            Console.WriteLine("A new version is available: {0}", update.Version);
            var path = System.IO.Path.Combine(dir, "update-" + update.Version);
            update.Download(path);
            Console.WriteLine("Downloaded {0} ({1} bytes, sha256 {2})", path, update.Size, update.Sha256);
            return 0;
        }
    }
}
