// Round-trip harness of the C# client models (run by codegen/test/clients/csharp.test.ts): reads
// cases.json, parses every example into its model class with Newtonsoft.Json, writes it back, and prints
// one JSON line per case ({"id", "via": "model", "json"} or {"id", "via", "error"}). Strings are read as
// they are (DateParseHandling.None), as a client should configure Json.NET for these models.
using System;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

public static class RoundTrip
{
  public static int Main(string[] args)
  {
    var settings = new JsonSerializerSettings { DateParseHandling = DateParseHandling.None };
    var asm = typeof(Makapix.Models.QueryPostsRequest).Assembly;
    var cases = JsonConvert.DeserializeObject<JArray>(File.ReadAllText(args[0]), settings);
    foreach (JObject c in cases)
    {
      var model = (string)c["model"];
      var output = new JObject();
      output["id"] = c["id"];
      output["via"] = "model";
      try
      {
        var type = asm.GetType("Makapix.Models." + model);
        if (type == null) throw new InvalidOperationException("no class Makapix.Models." + model);
        var text = c["json"].ToString(Formatting.None);
        var parsed = JsonConvert.DeserializeObject(text, type, settings);
        output["json"] = JsonConvert.DeserializeObject<JToken>(JsonConvert.SerializeObject(parsed, settings), settings);
      }
      catch (Exception e)
      {
        var message = e.GetType().Name + ": " + e.Message;
        for (var inner = e.InnerException; inner != null; inner = inner.InnerException) message += " (" + inner.Message + ")";
        output["error"] = message;
      }
      Console.WriteLine(output.ToString(Formatting.None));
    }
    return 0;
  }
}
