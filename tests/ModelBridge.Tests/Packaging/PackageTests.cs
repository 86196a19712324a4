using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace ModelBridge.Tests.Packaging;

/// <summary>
/// Packs the three packages as a release would (Release, CI path mapping, a unique version, outputs in a
/// git-ignored artifacts/ folder so the projects' own bin/obj are untouched) and inspects what a consumer gets:
/// nuspec metadata, the readme, the symbol packages with SourceLink PDBs, deterministic assemblies, the
/// tool's settings, and the ORT-natives property of ModelBridge.Verify.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Packaging")]
public sealed class PackageTests
{
    private static readonly string[] Packages = ["ModelBridge", "ModelBridge.Verify", "ModelBridge.Cli"];

    private TempDir _dir = null!;
    private string _version = null!;
    private string _artifacts = null!;

    private string Feed => _dir.File("feed");

    [OneTimeSetUp]
    public void Pack()
    {
        _dir = TestPaths.NewTempDir();
        _version = "0.0.0-packtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        // Inside the repository, so that CI path mapping covers obj/ as it does in the default layout.
        _artifacts = Path.Combine(TestPaths.RepoRoot, "artifacts", "packtest-" + Guid.NewGuid().ToString("N"));
        foreach (string project in Packages)
        {
            Dotnet(TestPaths.RepoRoot, "pack", Path.Combine("src", project, project + ".csproj"), "-c", "Release", "-o", Feed,
                $"-p:Version={_version}", "-p:ContinuousIntegrationBuild=true", "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={_artifacts}");
        }
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        _dir.Dispose();
        if (Directory.Exists(_artifacts))
        {
            Directory.Delete(_artifacts, recursive: true);
        }
        string parent = Path.GetDirectoryName(_artifacts)!;
        if (Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any())
        {
            Directory.Delete(parent);
        }
    }

    private string Nupkg(string id, string ext = "nupkg") => Path.Combine(Feed, $"{id}.{_version}.{ext}");

    private static XElement Metadata(ZipArchive package, string id)
    {
        using Stream s = package.GetEntry(id + ".nuspec")!.Open();
        XElement root = XDocument.Load(s).Root!;
        return root.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Field(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    [TestCaseSource(nameof(Packages))]
    public void Package_metadata_is_complete(string id)
    {
        using ZipArchive package = ZipFile.OpenRead(Nupkg(id));
        XElement m = Metadata(package, id);
        Assert.That(Field(m, "id"), Is.EqualTo(id));
        Assert.That(Field(m, "version"), Is.EqualTo(_version));
        Assert.That(Field(m, "description"), Has.Length.GreaterThan(30));
        Assert.That(Field(m, "authors"), Is.Not.Empty);
        Assert.That(Field(m, "tags")!.Split(' '), Does.Contain("onnx").And.Contain("onnxruntime"));
        Assert.That(Field(m, "projectUrl"), Does.StartWith("https://"));
        XElement repository = m.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.That(repository.Attribute("type")?.Value, Is.EqualTo("git"));
        Assert.That(repository.Attribute("url")?.Value, Does.StartWith("https://"));
        Assert.That(repository.Attribute("commit")?.Value, Does.Match("^[0-9a-f]{40}$"), "SourceLink records the commit");
        Assert.That(Field(m, "readme"), Is.EqualTo("README.md"));
        using var reader = new StreamReader(package.GetEntry("README.md")!.Open());
        Assert.That(reader.ReadToEnd(), Is.EqualTo(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"))));
    }

    [TestCaseSource(nameof(Packages))]
    public void Package_declares_a_license_expression(string id)
    {
        using ZipArchive package = ZipFile.OpenRead(Nupkg(id));
        XElement license = Metadata(package, id).Elements().Single(e => e.Name.LocalName == "license");
        Assert.That(license.Attribute("type")?.Value, Is.EqualTo("expression"));
        Assert.That(license.Value, Is.EqualTo("MIT"), "the LICENSE file at the repository root");
    }

    [TestCaseSource(nameof(Packages))]
    public void Symbol_package_has_a_sourcelinked_pdb_for_every_assembly(string id)
    {
        using ZipArchive package = ZipFile.OpenRead(Nupkg(id));
        using ZipArchive symbols = ZipFile.OpenRead(Nupkg(id, "snupkg"));
        string[] assemblies = [.. package.Entries.Where(e => e.FullName.EndsWith(".dll", StringComparison.Ordinal) && Path.GetFileNameWithoutExtension(e.Name).StartsWith("ModelBridge", StringComparison.Ordinal)).Select(e => e.FullName)];
        string[] own = [.. assemblies.Where(d => Path.GetFileNameWithoutExtension(d) == id)];
        Assert.That(own, Is.Not.Empty, $"the package holds {id}.dll");
        foreach (string dll in own)
        {
            ZipArchiveEntry? pdb = symbols.GetEntry(Path.ChangeExtension(dll, ".pdb"));
            Assert.That(pdb, Is.Not.Null, $"{dll} has its PDB in the .snupkg");
            using var pdbBytes = new MemoryStream();
            using (Stream s = pdb!.Open())
            {
                s.CopyTo(pdbBytes);
            }
            pdbBytes.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(pdbBytes);
            MetadataReader reader = provider.GetMetadataReader();
            string sourceLink = SourceLinkJson(reader);
            Assert.That(sourceLink, Does.Contain("\"/_/*\":\"https://raw.githubusercontent.com/"), "sources map to the commit on the repository host");
            string[] documents = [.. reader.Documents.Select(h => reader.GetString(reader.GetDocument(h).Name))];
            Assert.That(documents.Where(d => d.EndsWith(".cs", StringComparison.Ordinal)), Has.Some.StartWith("/_/src/"), "paths are mapped, not this machine's");
            Assert.That(documents, Has.None.Contain(TestPaths.RepoRoot), "no local path leaks into the PDB");
        }
    }

    [TestCaseSource(nameof(Packages))]
    public void Assemblies_are_deterministic(string id)
    {
        using ZipArchive package = ZipFile.OpenRead(Nupkg(id));
        ZipArchiveEntry dll = package.Entries.First(e => e.Name == id + ".dll");
        using var bytes = new MemoryStream();
        using (Stream s = dll.Open())
        {
            s.CopyTo(bytes);
        }
        bytes.Position = 0;
        using var pe = new PEReader(bytes);
        var entries = pe.ReadDebugDirectory();
        Assert.That(entries.Select(e => e.Type), Does.Contain(DebugDirectoryEntryType.Reproducible), "built with /deterministic");
        CodeViewDebugDirectoryData codeView = pe.ReadCodeViewDebugDirectoryData(entries.First(e => e.Type == DebugDirectoryEntryType.CodeView));
        Assert.That(codeView.Path, Does.StartWith("/_/"), "the PDB path is mapped");
    }

    [Test]
    public void The_tool_package_installs_the_modelbridge_command()
    {
        using ZipArchive package = ZipFile.OpenRead(Nupkg("ModelBridge.Cli"));
        XElement m = Metadata(package, "ModelBridge.Cli");
        Assert.That(m.Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => e.Attribute("name")?.Value), Does.Contain("DotnetTool"));
        ZipArchiveEntry settings = package.Entries.Single(e => e.Name == "DotnetToolSettings.xml");
        using Stream s = settings.Open();
        XElement command = XDocument.Load(s).Descendants("Command").Single();
        Assert.That(command.Attribute("Name")?.Value, Is.EqualTo("modelbridge"));
    }

    [Test]
    public void Verify_package_ships_the_ort_runtimes_property()
    {
        using ZipArchive package = ZipFile.OpenRead(Nupkg("ModelBridge.Verify"));
        Assert.That(package.GetEntry("buildTransitive/ModelBridge.Verify.targets"), Is.Not.Null);
        XElement ort = Metadata(package, "ModelBridge.Verify").Descendants().Single(e => e.Name.LocalName == "dependency" && e.Attribute("id")?.Value == "Microsoft.ML.OnnxRuntime");
        Assert.That(ort.Attribute("exclude")?.Value, Does.Contain("Build"), "ORT's build props (which copy the win-x64 library everywhere) do not reach consumers");
    }

    [Test]
    public void A_consumer_keeps_only_the_listed_platforms_ort_natives()
    {
        string consumer = _dir.File("consumer");
        Directory.CreateDirectory(consumer);
        string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="feed" value="{Feed}" /></packageSources>
              <fallbackPackageFolders><add key="global" value="{globalPackages}" /></fallbackPackageFolders>
              <config><add key="globalPackagesFolder" value="{_dir.File("consumer-packages")}" /></config>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ModelBridge.Verify" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), "Console.WriteLine(typeof(ModelBridge.Verify.ParityChecker).Assembly.GetName().Version);\n");

        Dotnet(consumer, "build", "-o", Path.Combine(consumer, "all"));
        string[] all = RuntimeFolders(Path.Combine(consumer, "all"));
        Dotnet(consumer, "build", "-o", Path.Combine(consumer, "one"), "-p:ModelBridgeOrtRuntimes=linux-x64%3Bwin-x64");
        string[] one = RuntimeFolders(Path.Combine(consumer, "one"));

        TestContext.Out.WriteLine($"consumer bin: {Megabytes(Path.Combine(consumer, "all"))} MB with every platform, {Megabytes(Path.Combine(consumer, "one"))} MB with linux-x64;win-x64");
        Assert.That(all, Is.SupersetOf(new[] { "linux-x64", "win-x64", "osx-arm64" }));
        Assert.That(one, Is.EquivalentTo(new[] { "linux-x64", "win-x64" }));
    }

    private static string[] RuntimeFolders(string bin) =>
        [.. Directory.GetDirectories(Path.Combine(bin, "runtimes")).Where(d => Directory.Exists(Path.Combine(d, "native")) && Directory.EnumerateFiles(Path.Combine(d, "native")).Any()).Select(Path.GetFileName)!];

    private static long Megabytes(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) >> 20;

    private static string SourceLinkJson(MetadataReader reader)
    {
        var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
        foreach (CustomDebugInformationHandle h in reader.GetCustomDebugInformation(EntityHandle.ModuleDefinition))
        {
            CustomDebugInformation info = reader.GetCustomDebugInformation(h);
            if (reader.GetGuid(info.Kind) == sourceLinkKind)
            {
                return System.Text.Encoding.UTF8.GetString(reader.GetBlobBytes(info.Value));
            }
        }
        Assert.Fail("the PDB has no SourceLink entry");
        return "";
    }

    private static void Dotnet(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The test host's own MSBuild settings must not leak into the child build.
        foreach (string v in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "DOTNET_HOST_PATH" })
        {
            psi.Environment.Remove(v);
        }
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        Assert.That(p.WaitForExit(600_000), Is.True, "dotnet " + string.Join(' ', args) + " finished within 10 minutes");
        Assert.That(p.ExitCode, Is.Zero, $"dotnet {string.Join(' ', args)}\n{stdout.Result}\n{stderr.Result}");
    }
}
