using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ModelBridge.Tests.Docs;

/// <summary>
/// Every fenced <c>```csharp</c> block in README.md compiles as written against the built assemblies,
/// each on its own, as the code of a new console project (<c>dotnet new console</c>: nullable on, the
/// SDK's implicit usings) referencing the ModelBridge packages and, for test snippets, NUnit. A block
/// with top-level statements is compiled as a program, one with only declarations as a library.
/// </summary>
[TestFixture]
public sealed partial class ReadmeSnippetTests
{
    /// <summary>What <c>ImplicitUsings=enable</c> adds to a Microsoft.NET.Sdk console project.</summary>
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(LoadReferences);

    private static IEnumerable<TestCaseData> Snippets()
    {
        string readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        foreach (Match m in CSharpFence().Matches(readme))
        {
            int line = readme[..m.Index].Count(c => c == '\n') + 1;
            yield return new TestCaseData(m.Groups[1].Value, line).SetName($"{{m}}(README.md line {line})");
        }
    }

    [Test]
    public void Readme_has_csharp_snippets() => Assert.That(Snippets().Count(), Is.GreaterThanOrEqualTo(4));

    [TestCaseSource(nameof(Snippets))]
    public void Snippet_compiles_as_written(string code, int line)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        SyntaxTree snippet = CSharpSyntaxTree.ParseText(code, options, path: $"README.md:{line}");
        bool program = snippet.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            $"readme_{line}",
            [snippet, CSharpSyntaxTree.ParseText(ImplicitUsings, options)],
            References.Value,
            new CSharpCompilationOptions(program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        string[] errors = [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString())];
        Assert.That(errors, Is.Empty, $"README.md line {line}:\n{code}");
    }

    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        // The framework (what a net10.0 project references) and the packages a user adds.
        string[] framework = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        Assembly[] packages = [typeof(Model).Assembly, typeof(ModelBridge.Verify.ParityChecker).Assembly, typeof(TestAttribute).Assembly];
        return [.. framework.Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Concat(packages.Select(a => a.Location))
            .Distinct()
            .Select(p => MetadataReference.CreateFromFile(p))];
    }

    [GeneratedRegex(@"^```csharp[ \t]*\r?\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpFence();
}
