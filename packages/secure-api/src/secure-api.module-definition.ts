import { ConfigurableModuleBuilder } from '@nestjs/common';
import { type SecureApiModuleOptions } from './secure-api.options.js';

export const {
  ConfigurableModuleClass: SecureApiConfigurableModule,
  MODULE_OPTIONS_TOKEN: SECURE_API_MODULE_OPTIONS,
  OPTIONS_TYPE: SECURE_API_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SECURE_API_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SecureApiModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSecureApiOptions')
  .build();
