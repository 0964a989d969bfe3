// A tiny C# product over the binding: Demo SERVER PRODUCT KEYS STATE_DIR INSTALLATION_ID [LICENSE_KEY]
// activates when a key is given, then prints one line: CODE LICENSE_ID FEATURE(export)
using System;
using Licclient;

public static class Demo
{
    public static int Main(string[] args)
    {
        if (args.Length < 5)
        {
            Console.Error.WriteLine("usage: Demo SERVER PRODUCT KEYS STATE_DIR INSTALLATION_ID [LICENSE_KEY]");
            return 2;
        }
        try
        {
            using (var client = new LicenseClient(args[0], args[1], args[2], args[3], args[4], 5000))
            {
                if (args.Length > 5) client.ActivateWithKey(args[5]);
                var status = client.Status();
                Console.WriteLine("{0} {1} {2} {3}", status.Code, status.LicenseId,
                                  client.HasFeature("export") ? "export" : "-", LicenseClient.Version);
                return 0;
            }
        }
        catch (LicenseException e)
        {
            Console.WriteLine("ERROR {0} {1}: {2}", e.Code, e.HttpStatus, e.Message);
            return 1;
        }
    }
}
