//! The wasmi interpreter behind [`crate::Module`].

use wasmi::{Caller, Config, Engine, Func, Linker, Module, Store, Val};

use crate::abi::Cx;
use crate::state::Host;
use crate::vm::{check_exports, Export, Instance, EXPORTS};

struct WiCx<'a, 'b>(&'a mut Caller<'b, Host>);

impl Cx for WiCx<'_, '_> {
    fn host(&mut self) -> &mut Host {
        self.0.data_mut()
    }

    fn memory(&mut self) -> Option<&mut [u8]> {
        let m = self.0.get_export("memory")?.into_memory()?;
        Some(m.data_mut(&mut *self.0))
    }

    fn alloc(&mut self, size: u32) -> Option<u32> {
        let f = self.0.get_export("proxy_on_memory_allocate")?.into_func()?;
        let mut out = [Val::I32(0)];
        f.call(&mut *self.0, &[Val::I32(size as i32)], &mut out).ok()?;
        out[0].i32().map(|p| p as u32).filter(|&p| p != 0)
    }
}

macro_rules! link {
    ($linker:expr; $( $module:literal $name:ident ( $($arg:ident : $ty:ty),* ); )*) => {
        $(
            $linker
                .func_wrap($module, stringify!($name), |mut caller: Caller<'_, Host>, $($arg: $ty),*| -> i32 {
                    crate::abi::$name(&mut WiCx(&mut caller), $($arg),*)
                })
                .map_err(|e| e.to_string())?;
        )*
    };
}

pub struct Compiled {
    engine: Engine,
    module: Module,
    linker: Linker<Host>,
}

impl Compiled {
    pub fn new(bytes: &[u8]) -> Result<Compiled, String> {
        let config = Config::default();
        let engine = Engine::new(&config);
        let module = Module::new(&engine, bytes).map_err(|e| format!("invalid wasm module: {e:#}"))?;
        check_exports(module.exports().map(|e| e.name()))?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        crate::for_each_hostcall!(link!(linker));
        linker
            .func_wrap(
                "wasi_snapshot_preview1",
                "proc_exit",
                |_c: Caller<'_, Host>, code: i32| -> Result<(), wasmi::Error> { Err(wasmi::Error::i32_exit(code)) },
            )
            .map_err(|e| e.to_string())?;
        Ok(Compiled { engine, module, linker })
    }

    pub fn instantiate(&self, host: Host) -> Result<WiInstance, String> {
        let mut store = Store::new(&self.engine, host);
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(|e| format!("cannot instantiate: {e:#}"))?;
        if let Some(init) = instance.get_func(&mut store, "_initialize") {
            init.call(&mut store, &[], &mut []).map_err(|e| format!("_initialize trapped: {e:#}"))?;
        }
        let funcs = EXPORTS
            .iter()
            .map(|(e, name)| {
                let f = instance.get_func(&mut store, name);
                let results = f.map(|f| f.ty(&store).results().len()).unwrap_or(0);
                (*e, f, results)
            })
            .collect();
        Ok(WiInstance { store, funcs })
    }
}

pub struct WiInstance {
    store: Store<Host>,
    funcs: Vec<(Export, Option<Func>, usize)>,
}

impl Instance for WiInstance {
    fn host(&mut self) -> &mut Host {
        self.store.data_mut()
    }

    fn call(&mut self, e: Export, args: &[i32]) -> Result<Option<i32>, String> {
        let Some((_, Some(f), nres)) = self.funcs.iter().find(|(x, _, _)| *x == e) else { return Ok(None) };
        let params: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        let mut out = [Val::I32(0)];
        f.call(&mut self.store, &params, &mut out[..*nres.min(&1)]).map_err(|err| format!("{err:#}"))?;
        Ok(Some(out[0].i32().unwrap_or(0)))
    }
}
