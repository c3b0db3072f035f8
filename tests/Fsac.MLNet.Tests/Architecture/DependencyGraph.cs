using Mono.Cecil;

namespace Fsac.MLNet.Tests.Architecture;

/// <summary>
/// The namespace-level dependencies of a compiled assembly, read from its metadata and IL with Mono.Cecil: every
/// type a type names in its base types, interfaces, attributes, fields, properties, signatures, locals and method
/// bodies. Compiled references are what a <c>using</c> or a qualified name turns into, so nothing escapes.
/// </summary>
internal sealed class DependencyGraph
{
    private DependencyGraph(IReadOnlyDictionary<(string From, string To), IReadOnlySet<string>> edges,
        IReadOnlyDictionary<string, IReadOnlySet<string>> externals, IReadOnlyList<TypeDefinition> types)
    {
        Edges = edges;
        Externals = externals;
        Types = types;
    }

    /// <summary>Namespace A uses namespace B (A ≠ B), with the type pairs behind it ("Type -> Type").</summary>
    public IReadOnlyDictionary<(string From, string To), IReadOnlySet<string>> Edges { get; }

    /// <summary>The other assemblies each namespace uses, system ones left out.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Externals { get; }

    /// <summary>The assembly's own top-level types (compiler-generated ones left out).</summary>
    public IReadOnlyList<TypeDefinition> Types { get; }

    public static DependencyGraph Read(string assemblyPath)
    {
        using var module = ModuleDefinition.ReadModule(assemblyPath);
        var types = module.Types.Where(t => t.Name != "<Module>" && !t.Name.StartsWith('<') && t.Namespace.Length > 0).ToList();
        var own = module.Types.Select(t => t.FullName).ToHashSet();
        var edges = new Dictionary<(string, string), HashSet<string>>();
        var externals = new Dictionary<string, HashSet<string>>();
        foreach (var type in types)
        {
            foreach (var used in References(type))
            {
                var target = Outermost(used);
                if (own.Contains(target.FullName))
                {
                    if (target.Namespace == type.Namespace || target.Namespace.Length == 0) continue;
                    Add(edges, (type.Namespace, target.Namespace), $"{type.Name} -> {target.Name}");
                }
                else if (target.Scope?.Name is { } scope && !IsSystem(scope))
                {
                    Add(externals, type.Namespace, scope);
                }
            }
        }
        return new DependencyGraph(
            edges.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value),
            externals.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value), types);
    }

    private static bool IsSystem(string assembly)
        => assembly.StartsWith("System", StringComparison.Ordinal) || assembly is "netstandard" or "mscorlib" or "Fsac.MLNet" or "Fsac.MLNet.dll";

    private static void Add<TKey>(Dictionary<TKey, HashSet<string>> map, TKey key, string value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var set)) map[key] = set = [];
        set.Add(value);
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.IsNested) type = type.DeclaringType;
        return type;
    }

    // The named types inside a type reference: generic arguments, array and pointer element types.
    private static IEnumerable<TypeReference> Named(TypeReference? type)
    {
        switch (type)
        {
            case null or GenericParameter:
                yield break;
            case GenericInstanceType generic:
                yield return generic.ElementType;
                foreach (var argument in generic.GenericArguments)
                foreach (var named in Named(argument)) yield return named;
                yield break;
            case TypeSpecification specification:
                foreach (var named in Named(specification.ElementType)) yield return named;
                yield break;
            default:
                yield return type;
                yield break;
        }
    }

    private static IEnumerable<TypeReference> References(TypeDefinition type)
    {
        IEnumerable<TypeReference> signature = [type.BaseType!, .. type.Interfaces.Select(i => i.InterfaceType),
            .. type.CustomAttributes.Select(a => a.AttributeType), .. type.Fields.Select(f => f.FieldType),
            .. type.Properties.Select(p => p.PropertyType), .. type.Events.Select(e => e.EventType)];
        foreach (var named in signature.SelectMany(Named)) yield return named;
        foreach (var method in type.Methods)
        {
            foreach (var named in Named(method.ReturnType)) yield return named;
            foreach (var named in method.Parameters.SelectMany(p => Named(p.ParameterType))) yield return named;
            foreach (var named in method.CustomAttributes.SelectMany(a => Named(a.AttributeType))) yield return named;
            if (!method.HasBody) continue;
            foreach (var named in method.Body.Variables.SelectMany(v => Named(v.VariableType))) yield return named;
            foreach (var instruction in method.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference operand:
                        foreach (var named in Named(operand)) yield return named;
                        break;
                    case MethodReference operand:
                        foreach (var named in Named(operand.DeclaringType).Concat(Named(operand.ReturnType))
                                     .Concat(operand.Parameters.SelectMany(p => Named(p.ParameterType)))) yield return named;
                        if (operand is GenericInstanceMethod generic)
                            foreach (var named in generic.GenericArguments.SelectMany(Named)) yield return named;
                        break;
                    case FieldReference operand:
                        foreach (var named in Named(operand.DeclaringType).Concat(Named(operand.FieldType))) yield return named;
                        break;
                }
            }
        }
        foreach (var nested in type.NestedTypes)
        foreach (var named in References(nested)) yield return named;
    }
}
