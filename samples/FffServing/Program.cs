// FffServing: a saved MlNetFff model behind ASP.NET Core (docs/serving.md).
//
//   dotnet run --project samples/FffServing -c Release -- --model artifacts/digits-fff.zip [--urls http://127.0.0.1:5080]
//       [--maxRows 1024] [--maxBodyBytes 1048576] [--minBodyBytesPerSecond 1024] [--bodyGraceSeconds 2]
//       [--headersTimeoutSeconds 5] [--debounceMs 50] [--pollMs 500] [--snapshotDelayMs 0 (testing only)]
//
//   POST /predict {"features": [64 numbers]}        -> {"generation": 1, "version": "…", "scores": [10 numbers]}
//   POST /predict {"rows": [[64 numbers], ...]}     -> {"generation": 1, "version": "…", "scores": [[10 numbers], ...]}
//   POST /noop    any body                          -> {"ok": true}   (the HTTP floor: no parsing, no scoring)
//   GET  /health                                    -> model generation, version, load time, load errors, counters
//   Any bad request                                 -> 400 {"error": "what is wrong"}
//
// Replacing the model file swaps the model without a restart; a file that does not load leaves the old one serving.
// The model's pipeline must read only the Features column (see ModelGeneration.Load).
using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FffServing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
// Per-request hosting logs cost more than scoring a row; keep ASP.NET's own logs to warnings.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
ServingOptions options;
try
{
    options = ServingOptions.From(builder.Configuration);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
builder.WebHost.UseUrls(options.Urls);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
    // A client that trickles its body (or stops sending without closing) is cut off after the grace period instead of
    // holding a connection and a request forever; the same for headers.
    kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(options.MinBodyBytesPerSecond, TimeSpan.FromSeconds(options.BodyGraceSeconds));
    kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(options.HeadersTimeoutSeconds);
    kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
});

WebApplication app = builder.Build();
ModelStore store;
try
{
    store = ModelStore.Open(options, app.Logger);
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    // Straight to stderr: the console logger writes on a background queue that exiting now could cut short.
    Console.Error.WriteLine($"FffServing cannot start: {e.Message}");
    return 3;
}

var endpoints = new Endpoints(store, options, app.Logger);
app.Use(endpoints.GuardAsync);
app.MapPost("/predict", (RequestDelegate)endpoints.PredictAsync);
app.MapPost("/noop", (RequestDelegate)endpoints.NoopAsync);
app.MapGet("/health", (RequestDelegate)endpoints.HealthAsync);

await app.StartAsync();
Task watching = store.StartWatching(app.Lifetime.ApplicationStopping);
// The load test and the tests start the service on port 0 and read the bound address from this line.
string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
Console.WriteLine($"FFF_SERVING_READY {address}");
await app.WaitForShutdownAsync();
await watching;
store.Dispose();
return 0;
